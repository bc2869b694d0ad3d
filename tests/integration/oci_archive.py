"""OCI image archives made by the tests themselves, for `ctr images import` on the real node.

An image built here has the exact config a test needs (a creation time, an entrypoint) and content unlike any other
image, so its own image ID, without a registry or a build tool.
"""
import hashlib
import json
import os
import shutil
import tarfile


def write_oci_archive(tmp, ref, files, config=None):
    """An OCI image archive (one uncompressed layer holding `files`, {path in the image: path on this host}) named
    `ref`; `config` is merged into the image config (e.g. created, config.Entrypoint). Returns (archive path, the
    manifest's digest)."""
    work = os.path.join(tmp, "oci-" + hashlib.sha256(ref.encode()).hexdigest()[:12])
    layout = os.path.join(work, "layout")
    blob_dir = os.path.join(layout, "blobs", "sha256")
    os.makedirs(blob_dir, exist_ok=True)

    def blob(path_or_data, media_type):
        if isinstance(path_or_data, bytes):
            data_path = os.path.join(blob_dir, "new")
            with open(data_path, "wb") as handle:
                handle.write(path_or_data)
        else:
            data_path = path_or_data
        digest = hashlib.sha256()
        with open(data_path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        target = os.path.join(blob_dir, digest.hexdigest())
        os.replace(data_path, target)
        return {"mediaType": media_type, "digest": "sha256:" + digest.hexdigest(), "size": os.path.getsize(target)}

    layer_path = os.path.join(work, "layer.tar")
    with tarfile.open(layer_path, mode="w") as tar:
        for arcname, path in sorted(files.items()):
            tar.add(path, arcname=arcname)
    layer = blob(layer_path, "application/vnd.oci.image.layer.v1.tar")
    image_config = {"architecture": "amd64", "os": "linux", "config": {},
                    "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]}}
    image_config.update(config or {})
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": blob(json.dumps(image_config).encode(), "application/vnd.oci.image.config.v1+json"),
                           "layers": [layer]}).encode()
    manifest_desc = blob(manifest, "application/vnd.oci.image.manifest.v1+json")
    manifest_desc["annotations"] = {"io.containerd.image.name": ref, "org.opencontainers.image.ref.name": ref.rpartition(":")[2]}
    with open(os.path.join(layout, "oci-layout"), "w", encoding="utf-8") as handle:
        json.dump({"imageLayoutVersion": "1.0.0"}, handle)
    with open(os.path.join(layout, "index.json"), "w", encoding="utf-8") as handle:
        json.dump({"schemaVersion": 2, "manifests": [manifest_desc]}, handle)
    archive = work + ".tar"
    with tarfile.open(archive, mode="w") as tar:
        for name in ("oci-layout", "index.json", "blobs"):
            tar.add(os.path.join(layout, name), arcname=name)
    shutil.rmtree(work)
    return archive, manifest_desc["digest"]
