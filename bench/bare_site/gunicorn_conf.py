"""gunicorn settings of the gthread baseline: the common Django deployment, 2 x 8 threads.

`reuse_port`: each worker listens on a socket of its own and the kernel spreads new
connections over them. Without it both workers race to accept from one socket, and in
some rounds one worker took all 16 keep-alive connections: the baseline then ran on one
core, at about half its rate, and every ratio against it flattered TicketBoss. The table
prints each baseline's least busy worker so such a round shows.
"""

workers = 2
worker_class = "gthread"
threads = 8
keepalive = 5
loglevel = "warning"
reuse_port = True
