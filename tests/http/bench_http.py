"""Latency of /v1a/ requests over one keep-alive connection.

Usage: python3 tests/http/bench_http.py PORT  (a running hathor-node; see
docs/http-api.md "Measured" for how the figures there were taken).
"""
import http.client, json, sys, time
port=int(sys.argv[1]); c=http.client.HTTPConnection('127.0.0.1',port)
def get(p):
    c.request('GET',p); r=c.getresponse(); b=r.read(); return r.status,b
st,b=get('/v1a/transaction?type=tx&count=15'); txs=[t['hash'] for t in json.loads(b)['transactions']]
st,b=get('/v1a/transaction?type=block&count=15'); blks=[t['hash'] for t in json.loads(b)['transactions']]
cases={'version':['/v1a/version'],'status':['/v1a/status'],'tx by id':['/v1a/transaction?id='+h for h in txs],
 'block by id':['/v1a/transaction?id='+h for h in blks],'dashboard_tx 15+15':['/v1a/dashboard_tx?block=15&tx=15'],
 'get_block_template':['/v1a/get_block_template'],'bad hash':['/v1a/transaction?id=zz']}
for name,paths in cases.items():
    ts=[]
    for i in range(300):
        p=paths[i%len(paths)]; t=time.perf_counter(); s,_=get(p); ts.append(time.perf_counter()-t)
    ts.sort(); print(f"{name:22s} status {s} n=300 median {ts[150]*1e3:.3f} ms p99 {ts[296]*1e3:.3f} ms max {ts[-1]*1e3:.3f} ms")
