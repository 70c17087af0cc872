# Add lock entries for optional platform binaries that the reachable registry does not carry,
# with os/cpu/libc so npm ci skips them on this platform instead of fetching.
import json, re, sys
path = sys.argv[1]
lock = json.load(open(path))
pk = lock['packages']
def plat(name):
    n = name.split('/')[-1]
    os_ = next((o for o in ['android','darwin','win32','freebsd','openharmony','linux'] if o in n), None)
    cpu = next((c for c in ['arm64','x64','ia32','arm','ppc64','s390x','riscv64','loong64'] if re.search(r'(^|-)' + c + r'(-|$)', n)), None)
    libc = 'musl' if 'musl' in n else ('glibc' if os_ == 'linux' else None)
    return os_, cpu, libc
added = []
for key, meta in list(pk.items()):
    for dep, spec in (meta.get('optionalDependencies') or {}).items():
        # resolution: walk up node_modules paths
        parts = key
        found = False
        while True:
            cand = (parts + '/node_modules/' if parts else 'node_modules/') + dep
            if cand in pk: found = True; break
            if not parts: break
            idx = parts.rfind('/node_modules/')
            parts = parts[:idx] if idx >= 0 else ''
        if found: continue
        os_, cpu, libc = plat(dep)
        if not os_ or not cpu: print('cannot classify', dep); sys.exit(1)
        entry = {'version': spec, 'cpu': [cpu]}
        if meta.get('dev'): entry['dev'] = True
        if libc: entry['libc'] = [libc]
        entry['optional'] = True
        entry['os'] = [os_]
        pk['node_modules/' + dep] = entry
        added.append(dep + '@' + spec)
lock['packages'] = dict(sorted(pk.items(), key=lambda kv: (kv[0] != '', kv[0])))
json.dump(lock, open(path, 'w'), indent=2); open(path, 'a').write('\n')
print(len(added), 'added'); print('\n'.join(added))
