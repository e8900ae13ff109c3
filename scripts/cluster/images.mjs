#!/usr/bin/env node
// Assembles the images the test cluster needs, under the exact names the manifests use, as
// docker-archive tarballs (what `docker save` writes; `ctr images import` and `docker load` read
// them). Nothing can be pulled here, so each is a STAND-IN built from Debian packages:
//
//   registry:2.8.3       Debian's docker-registry binary (Distribution 2.8.2, the registry:2 code) with
//                        the upstream image's config.yml, entrypoint and port; runs as any uid
//   docker:28.2.2-cli    busybox (sh and tools) + the static docker CLI on this machine + git
//                        (Debian's, with its libraries) + an `apk` that only accepts `apk add ... git`
//                        (git is already there; Alpine's package index is not reachable)
//                        + busybox (the garbage-collector container's loop runs sh, du, date, sleep)
//   nginx:1.28.0-alpine  Debian's nginx (nginx-light) with its libraries: the registry's auth proxy,
//                        run with the manifests' own nginx.conf
//   registry.k8s.io/pause:3.9   a static Go program that waits for SIGTERM and reaps children
//   moby/buildkit:<BUILDKIT_VERSION>-rootless   upstream's rootless stage, rebuilt from what is here:
//                        buildkitd, buildctl and rootlesskit from BINDIR (scripts/e2e/install-buildkit.sh,
//                        the image's own versions), upstream's buildctl-daemonless.sh from the buildkit
//                        module, Debian's runc as buildkit-runc and newuidmap/newgidmap (uidmap; file capabilities) with
//                        their libraries, git with its libraries, busybox for sh and tools; user 1000 ("user")
//                        with /etc/subuid and /etc/subgid ranges, its HOME, XDG_RUNTIME_DIR and TMPDIR, and
//                        upstream's USER, ENV, VOLUME and ENTRYPOINT (rootlesskit buildkitd)
//   busybox:stand-in     FROM-able base for the test's Dockerfiles (Debian's static busybox); in containerd
//                        too, for the test Pods' own shell tools (nslookup, wget)
//   node:<NODE_IMAGE>    the project's one Node image (lib/constructs/node-image.ts, e.g.
//                        node:24.21.0-alpine): the official Node release binary of the devDependency
//                        `node` (the same release the tag names; checked) with the glibc libraries it
//                        links, busybox as Alpine's userland, the `node` user (uid 1000) and the
//                        upstream docker-entrypoint.sh. Not Alpine (glibc, not musl) and no npm, npx,
//                        corepack or yarn: what runs on it must need Node alone. Loaded into both
//                        containerd (the retention CronJob) and dockerd (FROM of trigger/Dockerfile).
//
// Usage: node scripts/cluster/images.mjs OUTDIR [BINDIR]   writes OUTDIR/<file>.tar, one per image,
// and OUTDIR/images.json ({name, file, targets: ["containerd"|"dockerd", ...]}). Rebuilt only when the
// inputs (recipe version, source binaries' size+mtime) change. BINDIR (default OUTDIR/../bin) holds
// the binaries built from the Go module proxy (.tools/bin).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const RECIPE = 8; // bump when an image's recipe changes
const out = process.argv[2];
if (!out) {
  console.error('usage: images.mjs OUTDIR [BINDIR]');
  process.exit(2);
}
mkdirSync(out, { recursive: true });
const bin = process.argv[3] ?? join(out, '..', 'bin');

const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { encoding: 'utf-8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
const which = (cmd) => {
  try { return run('sh', ['-c', 'command -v "$1"', 'sh', cmd]).trim(); } catch { return ''; }
};
const fail = (msg) => { console.error(`images.mjs: ${msg}`); process.exit(1); };

function isStatic(file) {
  try { run('ldd', [file]); return false; } catch { return true; } // ldd exits 1: "not a dynamic executable"
}

/** Copies FILE into ROOT at the same path, plus the shared libraries ldd lists for it. */
function copyWithLibs(root, file, dest = file) {
  put(root, file, dest);
  if (isStatic(file)) return;
  for (const line of run('ldd', [file]).split('\n')) {
    const m = line.match(/(\/\S+) \(0x/);
    if (m) put(root, m[1], m[1]);
  }
}

function put(root, src, dest) {
  const target = join(root, dest);
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(realpathSync(src), target);
  chmodSync(target, statSync(realpathSync(src)).mode & 0o777);
}

function write(root, path, text, mode = 0o644) {
  const target = join(root, path);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, text);
  chmodSync(target, mode);
}

function link(root, path, to) {
  const target = join(root, path);
  mkdirSync(dirname(target), { recursive: true });
  if (!existsSync(target)) symlinkSync(to, target);
}

function busybox(root) {
  const bb = '/bin/busybox';
  if (!existsSync(bb) || !isStatic(bb)) fail('a static /bin/busybox is needed (Debian package busybox-static)');
  put(root, bb, '/bin/busybox');
  for (const applet of run(bb, ['--list-full']).split('\n').filter(Boolean)) {
    if (applet !== 'bin/busybox') link(root, `/${applet}`, '/bin/busybox');
  }
  write(root, '/etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  write(root, '/etc/group', 'root:x:0:\nnobody:x:65534:\n');
  for (const d of ['/tmp', '/var/tmp']) { mkdirSync(join(root, d), { recursive: true }); chmodSync(join(root, d), 0o1777); }
  mkdirSync(join(root, '/root'), { recursive: true });
}

const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** NODE_IMAGE of lib/constructs/node-image.ts (one name in one place; a unit test checks this pattern). */
function nodeImage() {
  const source = readFileSync(join(REPO_ROOT, 'lib', 'constructs', 'node-image.ts'), 'utf-8');
  const name = /^export const NODE_IMAGE = '([^']+)';$/m.exec(source)?.[1];
  const version = /^node:(\d+\.\d+\.\d+)-alpine[\d.]*$/.exec(name ?? '')?.[1];
  if (!version) fail(`no NODE_IMAGE = 'node:<x.y.z>-alpine...' in lib/constructs/node-image.ts (found ${name ?? 'none'})`);
  return { name, version };
}
/** The devDependency `node`'s binary (npm ci installs the official release build). */
const NODE_BIN = join(REPO_ROOT, 'node_modules', 'node', 'bin', 'node');
const NODE = nodeImage();

/** BUILDKIT_VERSION of scripts/e2e/buildkit.env (a unit test keeps it equal to the construct's image tag). */
function buildkitVersion() {
  const version = /^BUILDKIT_VERSION=(v[\d.]+)$/m.exec(readFileSync(join(REPO_ROOT, 'scripts', 'e2e', 'buildkit.env'), 'utf-8'))?.[1];
  if (!version) fail('no BUILDKIT_VERSION=v<x.y.z> in scripts/e2e/buildkit.env');
  return version;
}
const BUILDKIT_VERSION = buildkitVersion();
const BUILDKIT_BINARIES = ['buildkitd', 'buildctl', 'rootlesskit'];
/** The rootless image's user: its home, runtime dir and state dir belong to it. */
const BUILDKIT_OWNED = { uid: 1000, paths: ['home/user', 'home/user/.local', 'home/user/.local/share', 'home/user/.local/share/buildkit', 'home/user/.local/tmp', 'run/user/1000'] };

/** The directory of a Go module in the module cache (downloaded from the Go module proxy if needed). */
function goModDir(modVersion) {
  const dir = JSON.parse(run('go', ['mod', 'download', '-json', modVersion], { cwd: '/', env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '' } })).Dir;
  if (!dir || !existsSync(dir)) fail(`go mod download ${modVersion} gave no directory`);
  return dir;
}

/** The upstream image's entrypoint (docker-library/node): a first argument that is an option or not a command runs under node. */
const NODE_ENTRYPOINT = `#!/bin/sh
set -e

# Run command with node if the first argument contains a "-" or is not a system command. The last
# part inside the "{}" is a workaround for the following bug in ash/dash:
# https://bugs.debian.org/cgi-bin/bugreport.cgi?bug=874264
if [ "\${1#-}" != "\${1}" ] || [ -z "$(command -v "\${1}")" ] || { [ -f "\${1}" ] && ! [ -x "\${1}" ]; }; then
  set -- node "$@"
fi

exec "$@"
`;

const recipes = [
  {
    name: 'registry.k8s.io/pause:3.9', file: 'pause.tar', target: 'containerd',
    inputs: () => [which('go')],
    build(root) {
      const src = mkdtempSync(join(tmpdir(), 'pause-src-'));
      try {
        writeFileSync(join(src, 'go.mod'), 'module pause\n\ngo 1.20\n');
        writeFileSync(join(src, 'main.go'), `// Stand-in for registry.k8s.io/pause: holds the Pod's namespaces until told to stop.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range sigs {
		if s == syscall.SIGCHLD {
			for {
				if pid, _ := syscall.Wait4(-1, nil, syscall.WNOHANG, nil); pid <= 0 {
					break
				}
			}
			continue
		}
		os.Exit(0)
	}
}
`);
        run('go', ['build', '-trimpath', '-ldflags=-s -w', '-o', join(root, '/pause'), '.'],
          { cwd: src, env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local' } });
      } finally { rmSync(src, { recursive: true, force: true }); }
      return { Entrypoint: ['/pause'], User: '65535:65535' };
    },
  },
  {
    name: 'registry:2.8.3', file: 'registry.tar', target: 'containerd',
    inputs: () => ['/usr/bin/docker-registry', '/bin/busybox'],
    build(root) {
      if (!existsSync('/usr/bin/docker-registry')) fail('/usr/bin/docker-registry missing (Debian package docker-registry)');
      copyWithLibs(root, '/usr/bin/docker-registry', '/bin/registry');
      // The upstream image is Alpine based: the garbage-collector container's loop needs sh, du, date, sleep.
      busybox(root);
      // ldd's libraries were copied at their own paths; the loader path too.
      write(root, '/etc/docker/registry/config.yml', `version: 0.1
log:
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: /var/lib/registry
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
`);
      mkdirSync(join(root, '/var/lib/registry'), { recursive: true });
      return {
        Entrypoint: ['/bin/registry', 'serve'], Cmd: ['/etc/docker/registry/config.yml'],
        ExposedPorts: { '5000/tcp': {} }, Volumes: { '/var/lib/registry': {} },
      };
    },
  },
  {
    // The registry's auth proxy (anonymous pulls, pushes with an account): the manifests run
    // nginx with their own nginx.conf (-c, -e stderr; pid, logs and temp paths under /tmp/nginx).
    name: 'nginx:1.28.0-alpine', file: 'nginx.tar', target: 'containerd',
    inputs: () => ['/usr/sbin/nginx'],
    build(root) {
      if (!existsSync('/usr/sbin/nginx')) fail('/usr/sbin/nginx missing (Debian package nginx-light)');
      copyWithLibs(root, '/usr/sbin/nginx');
      mkdirSync(join(root, '/tmp'), { recursive: true, mode: 0o1777 });
      return { Cmd: ['nginx', '-g', 'daemon off;'], ExposedPorts: { '80/tcp': {} } };
    },
  },
  {
    name: 'docker:28.2.2-cli', file: 'docker-cli.tar', target: 'containerd',
    inputs: () => [which('docker'), '/usr/bin/git', '/bin/busybox'],
    build(root) {
      const docker = which('docker');
      if (!docker || !isStatic(docker)) {
        fail(`a static docker CLI is needed on PATH (found ${docker || 'none'}): the release binary from download.docker.com`);
      }
      busybox(root);
      put(root, docker, '/usr/local/bin/docker');
      copyWithLibs(root, '/usr/bin/git');
      link(root, '/usr/lib/git-core/git', '/usr/bin/git');
      if (existsSync('/usr/share/git-core/templates')) {
        cpSync('/usr/share/git-core/templates', join(root, '/usr/share/git-core/templates'), { recursive: true });
      }
      write(root, '/sbin/apk', `#!/bin/sh
# Stand-in for Alpine's apk (no package index is reachable here): git is already in this image.
case " $* " in
  *" add "*" git "*|*" add "*" git") echo "apk (stand-in): git $(git --version | cut -d' ' -f3) is preinstalled"; exit 0 ;;
esac
echo "apk (stand-in) only supports 'apk add git'; asked: apk $*" >&2
exit 1
`, 0o755);
      return { Cmd: ['sh'], Env: [PATH_ENV, 'DOCKER_TLS_CERTDIR=/certs'] };
    },
  },
  {
    // Upstream's Dockerfile, stage `rootless` (Alpine + shadow-uidmap, git, ...): the same files
    // and settings from this machine. Not here: fuse-overlayfs (the kernel's overlayfs works in a
    // user namespace since 5.11), openssh (ssh repository URLs), pigz, xz, openssl.
    name: `moby/buildkit:${BUILDKIT_VERSION}-rootless`, file: 'buildkit-rootless.tar', target: 'containerd',
    inputs: () => [...BUILDKIT_BINARIES.map((b) => join(bin, b)), '/usr/bin/newuidmap', '/usr/bin/newgidmap', which('runc'), '/usr/bin/git', '/bin/busybox'],
    owned: BUILDKIT_OWNED,
    xattrs: true, // the file capabilities of newuidmap/newgidmap
    build(root) {
      for (const b of BUILDKIT_BINARIES) {
        const file = join(bin, b);
        if (!existsSync(file)) fail(`${file} missing: run scripts/e2e/install-buildkit.sh (BuildKit ${BUILDKIT_VERSION} from the Go module proxy)`);
        put(root, file, `/usr/bin/${b}`);
      }
      // newuidmap/newgidmap with file capabilities (cap_setuid, cap_setgid), not setuid root: as
      // setuid root, Debian 12's shadow 4.13 writes the map as root, which needs CAP_SYS_ADMIN, and a
      // Pod has not got it (a uid-1000 caller owns the new user namespace and needs no more).
      for (const [f, cap] of [['/usr/bin/newuidmap', 'cap_setuid=ep'], ['/usr/bin/newgidmap', 'cap_setgid=ep']]) {
        if (!existsSync(f)) fail(`${f} missing (Debian package uidmap)`);
        copyWithLibs(root, f);
        chmodSync(join(root, f), 0o755);
        run('setcap', [cap, join(root, f)]);
      }
      const runc = which('runc');
      if (!runc) fail('runc missing (Debian package runc)');
      copyWithLibs(root, runc, '/usr/bin/buildkit-runc'); // the name upstream's image gives its runc
      // git with its helpers (BuildKit's git source runs `git submodule`, a script of git-core) and templates
      copyWithLibs(root, '/usr/bin/git');
      const copied = new Map([[statSync('/usr/bin/git').ino, '/usr/bin/git']]); // hard links become symlinks
      for (const f of readdirSync('/usr/lib/git-core').sort()) {
        const path = join('/usr/lib/git-core', f);
        const { ino } = statSync(path);
        if (!statSync(path).isFile()) continue;
        if (copied.has(ino)) link(root, path, copied.get(ino));
        else { copyWithLibs(root, path); copied.set(ino, path); }
      }
      if (existsSync('/usr/share/git-core/templates')) {
        cpSync('/usr/share/git-core/templates', join(root, '/usr/share/git-core/templates'), { recursive: true });
      }
      put(root, join(goModDir(`github.com/moby/buildkit@${BUILDKIT_VERSION}`), 'examples', 'buildctl-daemonless', 'buildctl-daemonless.sh'),
        '/usr/bin/buildctl-daemonless.sh');
      chmodSync(join(root, '/usr/bin/buildctl-daemonless.sh'), 0o755);
      busybox(root);
      write(root, '/etc/passwd', `${readFileSync(join(root, '/etc/passwd'), 'utf-8')}user:x:1000:1000:Linux User,,,:/home/user:/bin/sh\n`);
      write(root, '/etc/group', `${readFileSync(join(root, '/etc/group'), 'utf-8')}user:x:1000:\n`);
      write(root, '/etc/subuid', 'user:100000:65536\n');
      write(root, '/etc/subgid', 'user:100000:65536\n');
      for (const d of BUILDKIT_OWNED.paths) mkdirSync(join(root, d), { recursive: true });
      return {
        User: '1000:1000', // numeric, as upstream (Kubernetes' runAsNonRoot checks it)
        Env: [PATH_ENV, 'HOME=/home/user', 'USER=user', 'XDG_RUNTIME_DIR=/run/user/1000', 'TMPDIR=/home/user/.local/tmp',
          'BUILDKIT_HOST=unix:///run/user/1000/buildkit/buildkitd.sock'],
        Volumes: { '/home/user/.local/share/buildkit': {} },
        Entrypoint: ['rootlesskit', 'buildkitd'],
      };
    },
  },
  {
    name: 'busybox:stand-in', file: 'busybox.tar', target: ['containerd', 'dockerd'],
    inputs: () => ['/bin/busybox'],
    build(root) { busybox(root); return { Cmd: ['sh'] }; },
  },
  {
    // The retention CronJob runs it (containerd); trigger/Dockerfile builds FROM it (dockerd).
    name: NODE.name, file: 'node.tar', target: ['containerd', 'dockerd'],
    inputs: () => [NODE_BIN, '/bin/busybox'],
    build(root) {
      if (!existsSync(NODE_BIN)) fail(`${NODE_BIN} missing: run npm ci (the devDependency \`node\`)`);
      const version = run(NODE_BIN, ['--version']).trim();
      if (version !== `v${NODE.version}`) {
        fail(`the stand-in for ${NODE.name} must be Node ${NODE.version}, and ${NODE_BIN} is ${version}: `
          + 'keep NODE_IMAGE (lib/constructs/node-image.ts) and the devDependency `node` at one release, then npm ci');
      }
      busybox(root);
      copyWithLibs(root, NODE_BIN, '/usr/local/bin/node');
      // copyWithLibs put node at /usr/local/bin/node; its libraries at their own paths (ldd of the source)
      write(root, '/etc/passwd', `${readFileSync(join(root, '/etc/passwd'), 'utf-8')}node:x:1000:1000:Linux User,,,:/home/node:/bin/sh\n`);
      write(root, '/etc/group', `${readFileSync(join(root, '/etc/group'), 'utf-8')}node:x:1000:node\n`);
      mkdirSync(join(root, '/home/node'), { recursive: true });
      write(root, '/usr/local/bin/docker-entrypoint.sh', NODE_ENTRYPOINT, 0o755);
      return { Entrypoint: ['docker-entrypoint.sh'], Cmd: ['node'], Env: [PATH_ENV, `NODE_VERSION=${NODE.version}`] };
    },
  },
];

const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');
/** GNU format; with xattrs, POSIX (pax) headers for security.capability, without atime or ctime. */
const tarFormat = (xattrs) => ['--sort=name', '--numeric-owner', '--mtime=@0', ...(xattrs
  ? ['--format=posix', '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime', '--xattrs', '--xattrs-include=security.capability']
  : ['--format=gnu'])];
/**
 * DIR's entries (without a leading ./) into FILE, owned by root, except the directories of
 * `recipe.owned.paths` (relative, empty), appended owned by `recipe.owned.uid`; file
 * capabilities kept when `recipe.xattrs`.
 */
function tar(dir, file, recipe = {}) {
  const { owned, xattrs = false } = recipe;
  const excluded = owned ? owned.paths.map((p) => `--exclude=${p}`) : [];
  run('tar', [...tarFormat(xattrs), '--owner=0', '--group=0', ...excluded, '-C', dir, '-cf', file, ...readdirSync(dir).sort()]);
  if (owned) run('tar', [...tarFormat(xattrs), `--owner=${owned.uid}`, `--group=${owned.uid}`, '--no-recursion', '-C', dir, '-rf', file, ...owned.paths]);
}

const index = [];
for (const r of recipes) {
  const file = join(out, r.file);
  const stamp = JSON.stringify({ RECIPE, name: r.name, inputs: r.inputs().map((p) => (p && existsSync(p) ? [p, statSync(p).size, statSync(p).mtimeMs] : p)) });
  const stampFile = `${file}.stamp`;
  index.push({ name: r.name, file, targets: [r.target].flat() });
  if (existsSync(file) && existsSync(stampFile) && readFileSync(stampFile, 'utf-8') === stamp) continue;
  const work = mkdtempSync(join(tmpdir(), 'image-'));
  try {
    const root = join(work, 'rootfs');
    mkdirSync(root);
    const config = r.build(root);
    const archive = join(work, 'archive');
    mkdirSync(archive);
    const layer = join(work, 'layer.tar');
    tar(root, layer, r);
    const diffId = sha256(layer);
    mkdirSync(join(archive, diffId));
    copyFileSync(layer, join(archive, diffId, 'layer.tar'));
    const cfg = JSON.stringify({
      architecture: 'amd64', os: 'linux', created: '1970-01-01T00:00:00Z',
      config: { Env: [PATH_ENV], Labels: { 'cdk8s-image-builder.stand-in': 'true' }, ...config },
      rootfs: { type: 'layers', diff_ids: [`sha256:${diffId}`] },
      history: [{ created: '1970-01-01T00:00:00Z', created_by: `scripts/cluster/images.mjs (stand-in for ${r.name})` }],
    });
    const cfgHex = createHash('sha256').update(cfg).digest('hex');
    writeFileSync(join(archive, `${cfgHex}.json`), cfg);
    writeFileSync(join(archive, 'manifest.json'), JSON.stringify([{ Config: `${cfgHex}.json`, RepoTags: [r.name], Layers: [`${diffId}/layer.tar`] }]));
    tar(archive, `${file}.tmp`);
    run('mv', [`${file}.tmp`, file]);
    writeFileSync(stampFile, stamp);
    console.error(`images.mjs: built ${r.name} -> ${file}`);
  } finally { rmSync(work, { recursive: true, force: true }); }
}
writeFileSync(join(out, 'images.json'), `${JSON.stringify(index, null, 2)}\n`);
