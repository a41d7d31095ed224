"""Conformance probe: sends the same malformed or out-of-state messages to a
peer and prints what it answers (ERROR text, close).  Run it against the
reference node and against ours; the outputs must be identical.

Usage: refcheck.py PORT CA_CRT CA_KEY   (needs the `cryptography` package,
e.g. from the reference node's environment).
"""
import base64, datetime, hashlib, json, socket, ssl, sys, time, tempfile
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
port = int(sys.argv[1]); ca_crt, ca_key = sys.argv[2], sys.argv[3]
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
pid = hashlib.sha256(hashlib.sha256(spki).digest()).hexdigest()
ca = x509.load_pem_x509_certificate(open(ca_crt,'rb').read()); cak = serialization.load_pem_private_key(open(ca_key,'rb').read(), None)
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder().issuer_name(ca.issuer).subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,'x')]))
 .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1)).serial_number(x509.random_serial_number())
 .public_key(key.public_key()).add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True).sign(cak, hashes.SHA256()))
d = tempfile.mkdtemp(); open(d+'/c.pem','wb').write(cert.public_bytes(serialization.Encoding.PEM))
open(d+'/k.pem','wb').write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
def session(lines, after_hello=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname=False; ctx.load_verify_locations(ca_crt); ctx.load_cert_chain(d+'/c.pem', d+'/k.pem')
    s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', port))); s.settimeout(3)
    for l in lines: s.sendall(l.encode()+b'\r\n')
    buf=b''; out=[]
    try:
        while True:
            c = s.recv(65536)
            if not c: out.append('<closed>'); break
            buf += c
            while b'\r\n' in buf:
                l, buf = buf.split(b'\r\n',1); l=l.decode(); out.append(l[:150])
                if l.startswith('HELLO') and after_hello:
                    for x in after_hello: s.sendall(x.encode()+b'\r\n')
    except Exception as e: out.append('<%s>'%type(e).__name__)
    return [x for x in out if not x.startswith(('HELLO','PEER-ID'))]
def hello(**kw):
    h = {'app':'t','network':'unittests','remote_address':'x','genesis_short_hash':'f188691','timestamp':time.time(),'capabilities':['sync-version'],'sync_versions':['v2']}
    h.update(kw); return 'HELLO '+json.dumps(h)
# An id that is not the key's: its first byte changed (a fixed '00' would be
# the right id for the 1 key in 256 whose id starts with 00).
bad_pid = ('ff' if pid.startswith('00') else '00') + pid[2:]
good_pid = 'PEER-ID '+json.dumps({'id':pid,'pubKey':base64.b64encode(spki).decode(),'entrypoints':[]})
cases = {
 'READY first': ['READY'],
 'unknown cmd': ['FOO bar'],
 'wrong net': [hello(network='mainnet')],
 'ts': [hello(timestamp=time.time()+200)],
 'ts str': [hello(timestamp='x')],
 'hello 42': ['HELLO 42'],
 'no sync_versions': [hello(sync_versions=None) .replace(', "sync_versions": null','')],
 'bad id': [hello(), 'PEER-ID '+json.dumps({'id':bad_pid,'pubKey':base64.b64encode(spki).decode(),'entrypoints':[]})],
 'bad b64': [hello(), 'PEER-ID '+json.dumps({'id':pid,'pubKey':'!!!','entrypoints':[]})],
 'bad ep': [hello(), 'PEER-ID '+json.dumps({'id':pid,'pubKey':base64.b64encode(spki).decode(),'entrypoints':['tcp://10.1.2.3:40403']})],
 'get-mempool in ready': [hello(), good_pid, 'READY', 'GET-MEMPOOL'],
 'blocks-end unasked': [hello(), good_pid, 'READY', 'BLOCKS-END 0'],
 'pbh too many': [hello(), good_pid, 'READY', 'GET-PEER-BLOCK-HASHES '+json.dumps(list(range(21)))],
 'tips-end unasked': [hello(), good_pid, 'READY', 'TIPS-END'],
 'transaction unasked': [hello(), good_pid, 'READY', 'TRANSACTION AAEAAABAAAAAAAAAAF28hrgAAAAABg=='],
 'bbc bad': [hello(capabilities=['sync-version','get-best-blockchain']), good_pid, 'READY', 'GET-BEST-BLOCKCHAIN x'],
 'bbc range': [hello(capabilities=['sync-version','get-best-blockchain']), good_pid, 'READY', 'GET-BEST-BLOCKCHAIN 21'],
 'relay bad': [hello(), good_pid, 'READY', 'RELAY 5'],
 'not found': [hello(), good_pid, 'READY', 'NOT-FOUND ab'],
 'get-data unknown': [hello(), good_pid, 'READY', 'GET-DATA {"txid": "'+'00'*32+'", "origin": "mempool"}'],
}
for name, lines in cases.items():
    if name in ('bad id','bad b64','bad ep') or 'ready' in name or name.startswith(('pbh','tips','transaction','bbc','relay','not','get-data','blocks')):
        out = session(lines[:1], after_hello=lines[1:])
    else:
        out = session(lines)
    print(f'{name:22s}', [x for x in out if not x.startswith(('PING','GET-PEERS','GET-BEST-BLOCK','RELAY','BEST-BLOCK','GET-TIPS','PEERS'))][:4])
