# A stock CPython worker on the other server: python3 examples/redis/worker.py PORT
# It needs nothing but the standard library: the shared objects are ordinary registered typeids.
import os
import sys
from multiprocessing.managers import BaseManager


class JobManager(BaseManager):
    pass


JobManager.register('jobs')
JobManager.register('results')

m = JobManager(('127.0.0.1', int(sys.argv[1])), authkey=os.environ.get('MPM_AUTHKEY', 'redis-example').encode())
m.connect()
jobs, results = m.jobs(), m.results()
while True:
    n = jobs.get()
    if n is None:
        break
    results[n] = n * n
print('worker done')
