"""The pure parts of `make ee`'s tools (tests/ee): which pip settings reach the build, the local definition, galaxy.yml."""
import configparser
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "ee"))

import local_definition  # pylint: disable=wrong-import-position
import pack_collection  # pylint: disable=wrong-import-position
import pip_build_config  # pylint: disable=wrong-import-position


def test_pip_variables_win_over_config_files_and_only_index_settings_are_carried():
    listing = "\n".join([
        "global.cert='/etc/ssl/a.pem'",
        "global.index-url='https://files.example/simple'",
        "install.index-url='https://install.example/simple'",
        ":env:.cert='/etc/ssl/b.pem'",
        ":env:.default-timeout='180'",
        ":env:.disable-pip-version-check='1'",
        ":env:.find-links='/srv/wheels'",
        "global.user='true'",
    ])
    assert pip_build_config.effective_settings(listing) == {
        "cert": "/etc/ssl/b.pem", "index-url": "https://install.example/simple", "timeout": "180"}


def test_no_pip_settings_give_an_empty_config():
    assert not pip_build_config.effective_settings("")


def test_file_settings_are_copied_and_named_by_their_path_in_the_build(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("CERT", encoding="utf-8")
    out = tmp_path / "out"
    path = pip_build_config.write_build_config({"cert": str(ca), "index-url": "https://u:p@index.example/simple"}, str(out), "/etc/xdg/pip")
    config = configparser.ConfigParser()
    config.read(path)
    assert dict(config["global"]) == {"cert": "/etc/xdg/pip/cert.pem", "index-url": "https://u:p@index.example/simple"}
    assert (out / "cert.pem").read_text(encoding="utf-8") == "CERT"
    assert os.stat(path).st_mode & 0o777 == 0o600


DEFINITION = {
    "version": 3,
    "images": {"base_image": {"name": "quay.io/centos/centos:stream9"}},
    "dependencies": {"galaxy": {"collections": [{"name": "kubernetes.core", "version": ">=5.0.0"}]}, "python": ["PyYAML"]},
    "additional_build_files": [{"src": "ee-build/", "dest": "prewarm"}],
    "options": {"package_manager_path": "/usr/bin/dnf"},
}


def test_the_local_definition_takes_kubernetes_core_from_its_tarball_and_keeps_the_rest(tmp_path):
    (tmp_path / "kubernetes-core-6.2.0.tar.gz").write_bytes(b"")
    variant = local_definition.local_variant(DEFINITION, str(tmp_path))
    assert variant["dependencies"] == {
        "galaxy": {"collections": [{"name": "/build/prewarm/kubernetes-core-6.2.0.tar.gz", "type": "file"}]}, "python": ["PyYAML"]}
    assert variant["additional_build_files"] == [{"src": str(tmp_path), "dest": "prewarm"}]
    assert variant["options"] == {"package_manager_path": "/usr/bin/dnf", "skip_pip_install": True}
    assert variant["images"] == DEFINITION["images"]
    assert DEFINITION["dependencies"]["galaxy"]["collections"][0]["name"] == "kubernetes.core"


def test_the_local_definition_needs_exactly_one_kubernetes_core_tarball(tmp_path):
    with pytest.raises(SystemExit, match="expected one kubernetes-core"):
        local_definition.local_variant(DEFINITION, str(tmp_path))


def test_galaxy_yml_is_the_manifests_collection_info_without_empty_keys():
    manifest = {"collection_info": {"namespace": "kubernetes", "name": "core", "version": "6.2.0", "authors": ["a"],
                                    "license_file": None, "tags": [], "dependencies": {}, "repository": "https://r.example"}}
    assert pack_collection.galaxy_yml(manifest) == {
        "namespace": "kubernetes", "name": "core", "version": "6.2.0", "authors": ["a"], "repository": "https://r.example"}
