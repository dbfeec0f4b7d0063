"""gunicorn settings of the gthread baseline: the common Django deployment, 2 x 8 threads."""

workers = 2
worker_class = "gthread"
threads = 8
keepalive = 5
loglevel = "warning"
