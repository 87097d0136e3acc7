"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py wsgi:app`."""

import multiprocessing
import os

bind = os.environ.get("BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
# Each request is a short transaction; a worker stuck longer than this is restarted.
timeout = 30
graceful_timeout = 20
accesslog = "-"
raw_env = ["WORKORDERS_ENV=production"]
# Each worker touches a file every loop to tell the master it is alive: in memory, not on disk (gunicorn's advice).
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"
# gunicorn 27's control socket lives at one path per user (~/.gunicorn): a second server on the same host would
# take it over. Nothing here uses it.
control_socket_disable = True
