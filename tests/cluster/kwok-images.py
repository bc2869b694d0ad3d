"""A stand-in for the kubelet's image report on kwok's simulated nodes (node.status.images).

kwok simulates nodes and pods but pulls nothing, so its nodes report no status.images. This
daemon lists on each node labelled type=kwok the images that its pods' containers "pulled":
when kwok reports a container running, or terminated with exit code 0, the container's image
is added to its node's status.images, as the kubelet would list it, and so are the pod's image
volumes once one of its containers runs (the kubelet pulls them before it starts any):

- names: `<repo>@<digest>` and, for an image named by tag, `<repo>:<tag>` (repo normalised as
  the kubelet does: `busybox` is `docker.io/library/busybox`); a `repo:tag@digest` reference
  gives the digest name only, as containerd lists it. Digest names come first, then tags, each
  sorted, at most 5 (the kubelet's cap).
- the digest for a tag is what the registry serves for it at the moment of the simulated pull
  (HEAD of the manifest, cached for 1 s), so a tag moved in the registry behaves as on a real
  node: the tag name moves to the new entry, the old digest's entry stays. As the kubelet does,
  only a container with imagePullPolicy Always pulls an image whose name is already listed
  (IfNotPresent, the default for a tag other than latest, keeps the old image; Never lists nothing new).
- one entry per image (its config digest), as in containerd's store: the same image pulled from
  a second repository adds that repository's names to its entry.
- sizeBytes as containerd counts it: the manifest's bytes, its config and layers (for an index,
  the index's bytes too and the node's platform's manifest): a little more than images.json's
  `size`, which is config + layers.
- the list is sorted largest first and cut at --max-images (the kubelet's nodeStatusMaxImages,
  default 50); what is cut is forgotten.

Images stay listed after their pods are gone. An image is added once per pod and container
(pod uid + container name, kept in --state across restarts of this daemon), so an entry that a
test removes from status.images (as `crictl rmi` would) stays removed until another pod pulls it.
Only the local registries given with --registry are asked; an image of any other registry is
listed by the digest of its reference if it has one, else not at all (logged).

Nodes and pods are watched (list, then watch from its resourceVersion; relist on 410 Gone;
reconnect while the API server restarts). The images pulled on one node while its previous
patch was in flight go out in one patch of its status subresource, guarded by the node's
resourceVersion (a conflict is read again and merged again), which touches no other field.
"""
import argparse
import base64
import collections
import heapq
import json
import logging
import os
import sys
import threading
import time
import urllib.parse

import urllib3
from kubernetes import client, config

LOG = logging.getLogger("kwok-images")
MANIFEST_TYPES = ", ".join([
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
])
TAG_TTL = 1.0  # seconds a tag's digest is reused: 1,000 pods that start at once ask a few times (move-tag waits it out)
MAX_NAMES = 5  # the kubelet's MaxNamesPerImageInNodeStatus
BATCH_DELAY = 0.05  # a node's first pending image waits this long for others to join its patch


# --- image references ---------------------------------------------------------------------------

Ref = collections.namedtuple("Ref", "domain path tag digest")


def parse_ref(ref):
    """`ref` -> Ref(domain, path, tag, digest), normalised like the kubelet and containerd do."""
    name, digest = ref.split("@", 1) if "@" in ref else (ref, None)
    tag = None
    colon = name.rfind(":")
    if colon > name.rfind("/"):
        name, tag = name[:colon], name[colon + 1:]
    first, slash, rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        domain, path = first, rest
    else:
        domain, path = "docker.io", name
    if domain == "index.docker.io":
        domain = "docker.io"
    if domain == "docker.io" and "/" not in path:
        path = "library/" + path
    if digest:
        tag = None  # containerd records an image pulled by digest under its digest only
    elif tag is None:
        tag = "latest"
    return Ref(domain, path, tag, digest or None)


def pulled_name(ref):
    """The name a node lists for an image pulled by `ref`: repo@digest, or else repo:tag."""
    domain, path, tag, digest = parse_ref(ref)
    return "%s/%s%s" % (domain, path, "@" + digest if digest else ":" + tag)


# A container whose image is to be listed; seen: when its pod's event came (time.monotonic()).
Item = collections.namedtuple("Item", "uid container image policy seen")


# --- registries ---------------------------------------------------------------------------------

class Registries:
    """The local registries: tag -> digest (briefly cached), digest -> size and image ID (cached for good)."""

    def __init__(self, specs):
        self.auth = {}  # host -> Authorization header value or None
        for spec in specs:
            host, creds_file = spec.split("=", 1) if "=" in spec else (spec, None)
            header = None
            if creds_file:
                with open(creds_file, encoding="utf-8") as f:
                    creds = json.load(f)
                header = "Basic " + base64.b64encode(("%s:%s" % (creds["username"], creds["password"])).encode()).decode()
            self.auth[host] = header
        self.http = urllib3.PoolManager(maxsize=8, block=True, retries=False,
                                        timeout=urllib3.Timeout(connect=2, read=10))
        self.lock = threading.Lock()
        self.tags = {}  # (host, path, tag) -> (expiry, digest or exception)
        self.tag_locks = {}
        self.images = {}  # (host, path, digest, arch) -> (size, image ID): content-addressed, kept for good
        self.failed = {}  # digest name -> until when image_id() does not ask again

    def reachable(self, host):
        return host in self.auth

    def _request(self, method, host, path, what):
        headers = {"Accept": MANIFEST_TYPES}
        if self.auth[host]:
            headers["Authorization"] = self.auth[host]
        r = self.http.request(method, "http://%s/v2/%s/manifests/%s" % (host, path, what), headers=headers)
        if r.status != 200:
            raise RuntimeError("%s %s/%s:%s: HTTP %d" % (method, host, path, what, r.status))
        return r

    def digest(self, host, path, tag):
        key = (host, path, tag)
        with self.lock:
            lock = self.tag_locks.setdefault(key, threading.Lock())
        with lock:  # one request per tag at a time; the others wait for its answer
            cached = self.tags.get(key)
            if cached and cached[0] > time.monotonic():
                result = cached[1]
            else:
                try:
                    r = self._request("HEAD", host, path, tag)
                    result = r.headers.get("Docker-Content-Digest")
                    if not result:
                        raise RuntimeError("HEAD %s/%s:%s: no Docker-Content-Digest" % (host, path, tag))
                except Exception as exc:  # pylint: disable=broad-except
                    result = exc
                self.tags[key] = (time.monotonic() + TAG_TTL, result)
        if isinstance(result, Exception):
            raise result
        return result

    def image(self, host, path, digest, arch):
        """-> (size, image ID) of the image a manifest digest names, as containerd counts them: the
        manifest (and index) bytes, config and layers of the node's platform; the ID is the config's digest."""
        key = (host, path, digest, arch)
        if key not in self.images:
            raw = self._request("GET", host, path, digest).data
            manifest, size = json.loads(raw), len(raw)
            if "manifests" in manifest:  # an index: the node's platform
                wanted = [m for m in manifest["manifests"]
                          if (m.get("platform") or {}).get("os", "linux") == "linux"
                          and (m.get("platform") or {}).get("architecture") == arch] or manifest["manifests"]
                raw = self._request("GET", host, path, wanted[0]["digest"]).data
                manifest, size = json.loads(raw), size + len(raw)
            size += manifest["config"]["size"] + sum(layer["size"] for layer in manifest.get("layers", []))
            self.images[key] = (size, manifest["config"]["digest"])
        return self.images[key]

    def resolve(self, ref, arch):
        """ref -> (digest name, tag name or None, size, image ID or None) as the node lists it, or None."""
        domain, path, tag, digest = parse_ref(ref)
        repo = "%s/%s" % (domain, path)
        if not self.reachable(domain):
            if digest:
                return repo + "@" + digest, None, 0, None
            LOG.info("not listing %s: registry %s is not one of ours and the reference has no digest", ref, domain)
            return None
        try:
            if not digest:
                digest = self.digest(domain, path, tag)
            size, image_id = self.image(domain, path, digest, arch)
            return repo + "@" + digest, (repo + ":" + tag) if tag else None, size, image_id
        except Exception as exc:  # pylint: disable=broad-except
            if digest and not tag:
                return repo + "@" + digest, None, 0, None
            LOG.warning("not listing %s: %s", ref, exc)
            return None

    def image_id(self, name, arch):
        """A listed `repo@digest` name -> the image ID (config digest), or None if not to be had."""
        ref = parse_ref(name)
        domain, path, digest = ref.domain, ref.path, ref.digest
        if not digest or not self.reachable(domain):
            return None
        failed = self.failed.get(name)
        if failed and failed > time.monotonic():
            return None
        try:
            return self.image(domain, path, digest, arch)[1]
        except Exception:  # pylint: disable=broad-except  # deleted from the registry, say
            self.failed[name] = time.monotonic() + 30
            return None


def merge_images(images, resolved, max_images, image_id):
    """images (node.status.images) + resolved [(digest name, tag name, size, image ID)] -> the new list.

    As in containerd's store, an entry is one image (config digest): a manifest digest pulled from
    a second repository adds its name to the entry of the same image. image_id(name) tells the ID
    of an entry already listed, from one of its digest names.
    """
    out = [{"names": list(e.get("names") or []), "sizeBytes": e.get("sizeBytes", 0)} for e in images or []]
    ids = [next(filter(None, (image_id(n) for n in e["names"] if "@" in n)), None) for e in out]
    for digest_name, tag_name, size, iid in resolved:
        entry = next((e for e in out if digest_name in e["names"]), None)
        if entry is None and iid:
            entry = next((e for e, eid in zip(out, ids) if eid == iid), None)
        if tag_name:  # a tag names one image: it leaves the entry it named before
            for e in out:
                if e is not entry and tag_name in e["names"]:
                    e["names"].remove(tag_name)
        if entry is None:
            entry = {"names": [], "sizeBytes": size}
            out.append(entry)
            ids.append(iid)
        for name in (digest_name, tag_name):
            if name and name not in entry["names"]:
                entry["names"].append(name)
    for e in out:  # containerd's digests, then its tags, each sorted; the kubelet reports the first 5
        e["names"] = (sorted(n for n in e["names"] if "@" in n) + sorted(n for n in e["names"] if "@" not in n))[:MAX_NAMES]
    out = [e for e in out if e["names"]]
    out.sort(key=lambda e: -e["sizeBytes"])
    return out if max_images < 0 else out[:max_images]


# --- the API server -----------------------------------------------------------------------------

class ApiError(Exception):
    def __init__(self, status, body):
        super().__init__("HTTP %d: %s" % (status, body[:300]))
        self.status = status


class Api:
    """Raw JSON requests through the kubernetes client's connection pool (its TLS set-up)."""

    def __init__(self, kubeconfig, pool_size):
        cfg = client.Configuration()
        config.load_kube_config(config_file=kubeconfig, client_configuration=cfg, persist_config=False)
        cfg.connection_pool_maxsize = pool_size
        self.host = cfg.host
        self.headers = {"Accept": "application/json", "User-Agent": "prewarm-kwok-images"}
        token = cfg.get_api_key_with_prefix("authorization") or cfg.get_api_key_with_prefix("BearerToken")
        if token:
            self.headers["Authorization"] = token
        self.pool = client.ApiClient(cfg).rest_client.pool_manager

    def request(self, method, path, fields=None, body=None, content_type=None, stream=False, timeout=30):
        headers = dict(self.headers)
        if content_type:
            headers["Content-Type"] = content_type
        url = self.host + path
        if fields:
            url += "?" + urllib.parse.urlencode(fields)
        r = self.pool.request(method, url, body=body, headers=headers, preload_content=not stream, retries=False,
                              timeout=urllib3.Timeout(connect=5, read=timeout))
        if not 200 <= r.status <= 299:
            data = r.data if not stream else r.read()
            r.release_conn()
            raise ApiError(r.status, data.decode("utf-8", "replace"))
        return r if stream else json.loads(r.data)


def watch_forever(api, path, fields, on_list, on_event, name):
    """List then watch `path` for ever: on_list(items) after each (re)list, on_event(type, obj) per event."""
    backoff = 0.5
    while True:
        try:
            items, query, rv = [], dict(fields, limit="500"), None
            while True:
                page = api.request("GET", path, query, timeout=60)
                items.extend(page.get("items") or [])
                rv = page["metadata"]["resourceVersion"]
                if not page["metadata"].get("continue"):
                    break
                query["continue"] = page["metadata"]["continue"]
            on_list(items)
            LOG.info("%s: listed %d, watching from resourceVersion %s", name, len(items), rv)
            backoff = 0.5
            while True:  # watch from rv until it expires (410: relist) or the connection fails (retry)
                query = dict(fields, watch="true", resourceVersion=rv, allowWatchBookmarks="true", timeoutSeconds="300")
                resp = api.request("GET", path, query, stream=True, timeout=330)
                try:
                    buf = b""
                    for chunk in resp.stream(amt=None, decode_content=True):
                        buf += chunk
                        while b"\n" in buf:
                            line, buf = buf.split(b"\n", 1)
                            if not line.strip():
                                continue
                            event = json.loads(line)
                            obj = event["object"]
                            if event["type"] == "ERROR":
                                raise ApiError(obj.get("code", 500), obj.get("message", ""))
                            rv = obj["metadata"]["resourceVersion"]
                            if event["type"] != "BOOKMARK":
                                on_event(event["type"], obj)
                finally:
                    resp.release_conn()
                backoff = 0.5
        except ApiError as exc:
            if exc.status == 410:
                LOG.info("%s: watch expired (410), listing again", name)
                continue
            LOG.warning("%s: %s; again in %.1fs", name, exc, backoff)
        except Exception as exc:  # pylint: disable=broad-except  # connection refused while the API server restarts, ...
            LOG.warning("%s: %s: %s; again in %.1fs", name, type(exc).__name__, exc, backoff)
        time.sleep(backoff)
        backoff = min(backoff * 2, 5)


def rv_int(rv):
    try:
        return int(rv)
    except (TypeError, ValueError):
        return 0


def new_stats():
    return {"patches": 0, "images": 0, "lags": [], "patch_time": 0.0}


# --- the stand-in -------------------------------------------------------------------------------

class NodeImages:
    def __init__(self, api, registries, state_path, max_images, workers):
        self.api = api
        self.registries = registries
        self.max_images = max_images
        self.lock = threading.Condition()
        self.nodes = {}  # name -> {"kwok", "rv", "images", "arch"}, from the node watch and our patches
        self.recorded = {}  # pod uid -> {container names whose image was listed (or skipped)}
        self.queued = set()  # (pod uid, container name) pending or in flight
        self.pending = {}  # node -> [Item]
        self.ready = []  # heap of (due, node): nodes with pending images and no patch in flight
        self.scheduled = set()  # the nodes in self.ready
        self.inflight = set()
        self.nodes_known = threading.Event()  # set once the nodes were listed
        self.stats = new_stats()
        self.state_path = state_path
        self.state_lines = 0  # lines in the state file: it is compacted when most are of pods gone
        self._load_state()
        self.state = open(state_path, "a", encoding="utf-8")  # pylint: disable=consider-using-with
        self.workers = [threading.Thread(target=self._worker, daemon=True, name="patch-%d" % i) for i in range(workers)]
        for t in self.workers:
            t.start()
        threading.Thread(target=self._report, daemon=True, name="report").start()

    # The state file: one "uid<TAB>container" line per container listed, rewritten with the pods
    # that exist after each pod list, and when most of its lines are of pods gone.
    def _load_state(self):
        try:
            with open(self.state_path, encoding="utf-8") as f:
                for line in f:
                    uid, name = (line.rstrip("\n").split("\t", 1) + [""])[:2]
                    if uid and name:
                        self.recorded.setdefault(uid, set()).add(name)
                        self.state_lines += 1
        except FileNotFoundError:
            pass

    def _compact_state(self, uids=None):  # under self.lock
        if uids is not None:
            self.recorded = {uid: names for uid, names in self.recorded.items() if uid in uids}
        lines = ["%s\t%s\n" % (uid, name) for uid, names in sorted(self.recorded.items()) for name in sorted(names)]
        tmp = self.state_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.writelines(lines)
        os.replace(tmp, self.state_path)
        self.state.close()
        self.state = open(self.state_path, "a", encoding="utf-8")  # pylint: disable=consider-using-with
        self.state_lines = len(lines)

    def _record(self, keys):  # under self.lock
        for uid, name in keys:
            self.recorded.setdefault(uid, set()).add(name)
        self.state.writelines("%s\t%s\n" % k for k in keys)
        self.state.flush()
        self.state_lines += len(keys)
        if self.state_lines > 10000 and self.state_lines > 2 * sum(len(n) for n in self.recorded.values()):
            self._compact_state()

    # nodes
    def _node_state(self, obj):
        meta, status = obj["metadata"], obj.get("status") or {}
        labels = meta.get("labels") or {}
        return {"kwok": labels.get("type") == "kwok", "rv": meta["resourceVersion"], "images": status.get("images") or [],
                "arch": labels.get("kubernetes.io/arch") or (status.get("nodeInfo") or {}).get("architecture") or "amd64"}

    def _store_node(self, obj):  # under self.lock; an older version (a late watch event) does not replace a newer one
        name = obj["metadata"]["name"]
        old = self.nodes.get(name)
        if old is None or rv_int(obj["metadata"]["resourceVersion"]) >= rv_int(old["rv"]):
            self.nodes[name] = self._node_state(obj)

    def nodes_listed(self, items):
        with self.lock:
            self.nodes = {}
            for obj in items:
                self._store_node(obj)
        self.nodes_known.set()

    def node_event(self, etype, obj):
        with self.lock:
            if etype == "DELETED":
                self.nodes.pop(obj["metadata"]["name"], None)
            else:
                self._store_node(obj)

    # pods
    def pods_listed(self, items):
        for obj in items:
            self.pod_event("ADDED", obj)
        with self.lock:
            self._compact_state({obj["metadata"]["uid"] for obj in items})

    def pod_event(self, etype, pod):
        uid = pod["metadata"]["uid"]
        if etype == "DELETED":  # its images stay listed
            with self.lock:
                self.recorded.pop(uid, None)
            return
        spec, status = pod.get("spec") or {}, pod.get("status") or {}
        node = spec.get("nodeName")
        if not node:
            return
        containers = {c["name"]: c for kind in ("initContainers", "containers", "ephemeralContainers")
                      for c in spec.get(kind) or []}
        now = time.monotonic()
        with self.lock:
            known = self.nodes.get(node)
            if known is not None and not known["kwok"]:
                return
            added = False
            for kind in ("initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"):
                for st in status.get(kind) or []:
                    key = (uid, st["name"])
                    if st["name"] in self.recorded.get(uid, ()) or key in self.queued:
                        continue
                    state = st.get("state") or {}
                    if not ("running" in state or ("terminated" in state and state["terminated"].get("exitCode") == 0)):
                        continue
                    container = containers.get(st["name"]) or {}
                    image = container.get("image") or st.get("image")
                    if not image:
                        continue
                    self.queued.add(key)
                    self.pending.setdefault(node, []).append(
                        Item(uid, st["name"], image, container.get("imagePullPolicy") or "IfNotPresent", now))
                    added = True
            # Image volumes are pulled before any container starts: once one runs, each is there.
            if any("running" in (st.get("state") or {}) for st in status.get("containerStatuses") or []):
                for volume in spec.get("volumes") or []:
                    source = volume.get("image") or {}
                    key, name = (uid, "volume:" + volume.get("name", "")), "volume:" + volume.get("name", "")
                    if not source.get("reference") or name in self.recorded.get(uid, ()) or key in self.queued:
                        continue
                    self.queued.add(key)
                    self.pending.setdefault(node, []).append(
                        Item(uid, name, source["reference"], source.get("pullPolicy") or "IfNotPresent", now))
                    added = True
            if added:
                self._schedule(node)

    def _schedule(self, node, due=None):  # under self.lock
        if node in self.inflight or node in self.scheduled or not self.pending.get(node):
            return
        self.scheduled.add(node)
        heapq.heappush(self.ready, (due or self.pending[node][0].seen + BATCH_DELAY, node))
        self.lock.notify()

    # patching
    def _worker(self):
        while True:
            with self.lock:
                while True:
                    if self.ready:
                        due, node = self.ready[0]
                        wait = due - time.monotonic()
                        if wait <= 0:
                            heapq.heappop(self.ready)
                            break
                        self.lock.wait(wait)
                    else:
                        self.lock.wait()
                self.scheduled.discard(node)
                items = self.pending.pop(node, [])
                self.inflight.add(node)
            try:
                done = self._patch(node, items)
            except Exception:  # pylint: disable=broad-except  # a bug: log it, and do not try these again
                LOG.exception("%s: not listing %s", node, sorted({i.image for i in items}))
                done = True
            with self.lock:
                self.inflight.discard(node)
                keys = [(i.uid, i.container) for i in items]
                if done:
                    self.queued.difference_update(keys)
                    self._record(keys)
                    now = time.monotonic()
                    self.stats["lags"].extend(now - i.seen for i in items)
                else:  # the API server is away: try again in a second, with what came meanwhile
                    self.pending[node] = items + self.pending.get(node, [])
                self._schedule(node, None if done else time.monotonic() + 1.0)

    def _fetch_node(self, node):
        obj = self.api.request("GET", "/api/v1/nodes/" + node)
        with self.lock:
            self._store_node(obj)
            return dict(self.nodes[obj["metadata"]["name"]])

    def _patch(self, node, items):
        """True when done (listed, or nothing to list); False to try again later."""
        with self.lock:
            state = dict(self.nodes[node]) if node in self.nodes else None
        try:
            if state is None:
                state = self._fetch_node(node)
        except ApiError as exc:
            if exc.status == 404:
                return True  # node gone: nothing to list on
            LOG.warning("%s: %s", node, exc)
            return False
        except Exception as exc:  # pylint: disable=broad-except
            LOG.warning("%s: %s: %s", node, type(exc).__name__, exc)
            return False
        if not state["kwok"]:
            return True
        resolved, seen = [], set()
        listed = {n for e in state["images"] for n in e.get("names") or []}
        for item in items:
            if item.image in seen:
                continue
            seen.add(item.image)
            # The kubelet pulls only with imagePullPolicy Always, or when the image is not there:
            # a tag already listed stays on the image it named, even if the registry's tag moved.
            if item.policy != "Always" and pulled_name(item.image) in listed:
                continue
            if item.policy == "Never":
                LOG.info("%s: not listing %s: imagePullPolicy Never and not on the node", node, item.image)
                continue
            r = self.registries.resolve(item.image, state["arch"])
            if r:
                resolved.append(r)
        for attempt in range(10):
            images = merge_images(state["images"], resolved, self.max_images,
                                  lambda name, arch=state["arch"]: self.registries.image_id(name, arch))
            if images == state["images"]:
                return True
            body = json.dumps({"metadata": {"resourceVersion": state["rv"]}, "status": {"images": images}})
            try:
                started = time.monotonic()
                obj = self.api.request("PATCH", "/api/v1/nodes/%s/status" % node, body=body,
                                       content_type="application/merge-patch+json")
                with self.lock:
                    self._store_node(obj)
                    self.stats["patches"] += 1
                    self.stats["patch_time"] += time.monotonic() - started
                    self.stats["images"] += len(resolved)
                return True
            except ApiError as exc:
                if exc.status == 404:
                    return True
                if exc.status != 409:
                    LOG.warning("%s: PATCH status: %s", node, exc)
                    return False
            except Exception as exc:  # pylint: disable=broad-except
                LOG.warning("%s: PATCH status: %s: %s", node, type(exc).__name__, exc)
                return False
            try:  # 409: the node changed since we read it; read it again and merge again
                state = self._fetch_node(node)
            except ApiError as exc:
                return exc.status == 404
            except Exception:  # pylint: disable=broad-except
                return False
            time.sleep(0.05 * attempt)
        return False

    def _report(self):
        while True:
            time.sleep(10)
            with self.lock:
                stats, self.stats = self.stats, new_stats()
            lags = sorted(stats["lags"])
            if lags:
                LOG.info("last 10s: %d containers, %d images listed in %d patches (%.3fs each); lag median %.3fs, max %.3fs",
                         len(lags), stats["images"], stats["patches"], stats["patch_time"] / max(stats["patches"], 1),
                         lags[len(lags) // 2], lags[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--state", required=True, help="file of the containers already listed")
    parser.add_argument("--registry", action="append", default=[], metavar="HOST:PORT[=CREDENTIALS.json]",
                        help="a local registry to ask for digests and sizes (plain HTTP; basic auth from the file)")
    parser.add_argument("--max-images", type=int, default=int(os.environ.get("PREWARM_KWOK_MAX_IMAGES", "50")))
    parser.add_argument("--workers", type=int, default=16)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    api = Api(args.kubeconfig, args.workers + 4)
    stand_in = NodeImages(api, Registries(args.registry), args.state, args.max_images, args.workers)
    threading.Thread(target=watch_forever, daemon=True, name="nodes",
                     args=(api, "/api/v1/nodes", {}, stand_in.nodes_listed, stand_in.node_event, "nodes")).start()
    stand_in.nodes_known.wait()  # nodes first, so pods of other nodes are known to be none of ours
    watch_forever(api, "/api/v1/pods", {"fieldSelector": "spec.nodeName!="}, stand_in.pods_listed, stand_in.pod_event, "pods")


if __name__ == "__main__":
    main()
