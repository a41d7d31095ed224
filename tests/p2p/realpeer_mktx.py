"""Makes a signed transaction with a reference node's wallet WITHOUT pushing
it to that node, so the interop test can hand it to our node and check that
it reaches the reference nodes only through our relay.

It spends the whole reward of the lowest unspent, already spendable block
(REWARD_SPEND_MIN_BLOCKS is 10 on unittests) to ADDRESS: /create_tx builds
it unsigned, /wallet/sign_tx signs it and (prepare_to_send) sets parents,
timestamp and weight and solves its proof of work.  Nothing here calls
push_tx.

Usage: realpeer_mktx.py HTTP_PORT ADDRESS   -> prints "HASH HEX"
Standard library only (the hash comes from the node's /decode_tx).
"""
import json
import sys
import urllib.request

base = 'http://127.0.0.1:%s/v1a/' % sys.argv[1]
address = sys.argv[2]


def get(path):
    with urllib.request.urlopen(base + path, timeout=20) as r:
        return json.load(r)


def post(path, body):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(),
                                 headers={'content-type': 'application/json'})
    with urllib.request.urlopen(req, timeout=20) as r:
        return json.load(r)


best = get('status')['dag']['best_block']['height']
spend = None
for h in range(1, best - 10):
    blk = get('block_at_height?height=%d' % h)['block']
    out = blk['outputs'][0]
    if out['spent_by'] is None:
        spend = (blk['tx_id'], out['value'])
        break
if spend is None:
    sys.exit('no unspent spendable block reward below height %d' % (best - 10))
made = post('create_tx', {'inputs': [{'tx_id': spend[0], 'index': 0}],
                          'outputs': [{'address': address, 'value': spend[1]}]})
if not made.get('success'):
    sys.exit('create_tx: %s' % made)
signed = get('wallet/sign_tx?prepare_to_send=true&hex_tx=' + made['hex_data'])
if not signed.get('success'):
    sys.exit('sign_tx: %s' % signed)
decoded = get('decode_tx?hex_tx=' + signed['hex_tx'])
if not decoded.get('success'):
    sys.exit('decode_tx: %s' % decoded)
print(decoded['tx']['hash'], signed['hex_tx'])
