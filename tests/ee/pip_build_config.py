"""Write this machine's pip settings for a container build, to be mounted during the build only.

A container build does not see the machine's pip configuration (files and PIP_* variables) nor its
CA trust. This reads them as `pip config list` reports them (config files, then PIP_* variables,
which win) and writes, into OUT_DIR, a pip.conf for the build and copies of the files it names
(the CA bundle, a client certificate). The build mounts OUT_DIR read-only at MOUNT_DIR, a
directory pip reads its site configuration from, so nothing of it ends up in the image.

Usage: pip_build_config.py OUT_DIR MOUNT_DIR   (prints the `-v` option for the container build)
"""
import ast
import configparser
import os
import shutil
import subprocess
import sys

# Settings that say where packages come from and how to reach them; the rest (e.g. user or
# target directories, find-links directories of this machine) are not the build's.
CARRIED = ("index-url", "extra-index-url", "trusted-host", "no-index", "cert", "client-cert", "proxy", "timeout", "retries")
FILE_VALUED = ("cert", "client-cert")
# pip's own aliases between PIP_* variables and config file keys.
ALIASES = {"default-timeout": "timeout"}
# Later sources win, as in pip: config files (global, then the install command's section), then PIP_*.
SECTIONS = ("global", "install", ":env:")


def effective_settings(listing):
    """The carried settings from `pip config list` lines (section.key='value')."""
    by_section = {section: {} for section in SECTIONS}
    for line in listing.splitlines():
        name, value = line.split("=", 1)
        section, key = name.rsplit(".", 1)
        key = ALIASES.get(key, key)
        if section in by_section and key in CARRIED:
            by_section[section][key] = ast.literal_eval(value)
    settings = {}
    for section in SECTIONS:
        settings.update(by_section[section])
    return settings


def write_build_config(settings, out_dir, mount_dir):
    """pip.conf in out_dir, with each file setting copied next to it and named by its path in the build."""
    os.makedirs(out_dir, mode=0o700, exist_ok=True)
    config = configparser.ConfigParser()
    config["global"] = {}
    for key, value in sorted(settings.items()):
        if key in FILE_VALUED:
            name = key + ".pem"
            shutil.copyfile(value, os.path.join(out_dir, name))
            os.chmod(os.path.join(out_dir, name), 0o600 if key == "client-cert" else 0o644)
            config["global"][key] = os.path.join(mount_dir, name)
        else:
            config["global"][key] = value
    path = os.path.join(out_dir, "pip.conf")
    # Read by the build's steps as root: 0600 keeps an index password in it private.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        config.write(handle)
    return path


def main(out_dir, mount_dir):
    listing = subprocess.run([sys.executable, "-m", "pip", "config", "list"], check=True, capture_output=True, text=True).stdout
    write_build_config(effective_settings(listing), out_dir, mount_dir)
    print("-v %s:%s:ro" % (os.path.abspath(out_dir), mount_dir))


if __name__ == "__main__":
    main(*sys.argv[1:])
