# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The registries option, pull secrets in every shape, credential matching, WWW-Authenticate parsing."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json

import pytest

from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput
from ansible_collections.prewarm.k8s.plugins.module_utils.registry_auth import (
    DEFAULT_OPTIONS,
    Credential,
    RegistryOptions,
    basic_authorization,
    check_registry_options,
    credential_for,
    credential_source,
    credentials_from_secret,
    options_for,
    parse_challenge,
    parse_challenges,
)

PASSWORD = "s3cret-Pa55word"


def b64(text):
    return base64.b64encode(text.encode("utf-8") if isinstance(text, str) else text).decode("ascii")


def auth_entry(user="alice", password=PASSWORD):
    return {"auth": b64("%s:%s" % (user, password))}


def pull_secret(auths, name="regcred", legacy=False):
    if legacy:
        return {"metadata": {"name": name}, "type": "kubernetes.io/dockercfg", "data": {".dockercfg": b64(json.dumps(auths))}}
    return {"metadata": {"name": name}, "type": "kubernetes.io/dockerconfigjson",
            "data": {".dockerconfigjson": b64(json.dumps({"auths": auths}))}}


# --- the registries option ---------------------------------------------------------------


def test_registry_options_default_and_given_values():
    options = check_registry_options({
        "127.0.0.1:5000": {"plain_http": True},
        "registry.example.com": {"validate_certs": False},
        "private.example.com:8443": {"ca_cert": "certs/private-ca.pem"},
        "plain.example.com": None,
    })
    assert options == {
        "127.0.0.1:5000": RegistryOptions(plain_http=True, validate_certs=True, ca_cert=None),
        "registry.example.com": RegistryOptions(plain_http=False, validate_certs=False, ca_cert=None),
        "private.example.com:8443": RegistryOptions(plain_http=False, validate_certs=True, ca_cert="certs/private-ca.pem"),
        "plain.example.com": DEFAULT_OPTIONS,
    }
    assert DEFAULT_OPTIONS == RegistryOptions(plain_http=False, validate_certs=True, ca_cert=None)


@pytest.mark.parametrize("host, key", [
    ("index.docker.io", "docker.io"),
    ("registry-1.docker.io", "docker.io"),
    ("docker.io", "docker.io"),
    ("Registry.Example.COM:5000", "registry.example.com:5000"),
    ("localhost", "localhost"),
    ("[::1]:5000", "[::1]:5000"),
])
def test_registry_hosts_are_normalised_like_image_references(host, key):
    assert list(check_registry_options({host: {"plain_http": True}})) == [key]


def test_no_registries_option_is_no_registries():
    assert check_registry_options(None) == {}
    assert check_registry_options({}) == {}


@pytest.mark.parametrize("value, words", [
    (["127.0.0.1:5000"], ["registries:", "must be a dictionary", "['127.0.0.1:5000']"]),
    ({"myregistry": {}}, ["registries:", "'myregistry' is not a registry host[:port]"]),
    ({"https://registry.example.com": {}}, ["registries:", "'https://registry.example.com'"]),
    ({"registry.example.com/team": {}}, ["registries:", "'registry.example.com/team'"]),
    ({"": {}}, ["registries:", "''"]),
    ({"r.example.com": {"insecure": True}}, ["registries['r.example.com']", "unknown key(s) insecure", "known: plain_http"]),
    ({"r.example.com": {"plain_http": "yes"}}, ["registries['r.example.com'].plain_http", "true or false", "'yes'"]),
    ({"r.example.com": {"validate_certs": 0}}, ["registries['r.example.com'].validate_certs", "not 0"]),
    ({"r.example.com": {"ca_cert": ""}}, ["registries['r.example.com'].ca_cert", "path of a PEM CA bundle", "''"]),
    ({"r.example.com": {"ca_cert": 5}}, ["registries['r.example.com'].ca_cert", "not 5"]),
    ({"r.example.com": "plain"}, ["registries['r.example.com']", "must be a dictionary", "'plain'"]),
    ({"docker.io": {}, "index.docker.io": {}}, ["registries:", "'docker.io' and 'index.docker.io' name the same registry"]),
])
def test_bad_registry_options_name_the_option_key_and_value(value, words):
    with pytest.raises(InvalidInput) as caught:
        check_registry_options(value)
    for word in words:
        assert word in caught.value.msg


def test_the_option_name_is_the_one_given():
    with pytest.raises(InvalidInput, match=r"^warm_registries\['r.example.com'\]\.plain_http"):
        check_registry_options({"r.example.com": {"plain_http": 1}}, option="warm_registries")


def test_unlisted_registries_get_https_with_verified_certificates():
    options = check_registry_options({"127.0.0.1:5000": {"plain_http": True}, "index.docker.io": {"validate_certs": False}})
    assert options_for("127.0.0.1:5001", options) == DEFAULT_OPTIONS
    assert options_for("127.0.0.1", options) == DEFAULT_OPTIONS
    assert options_for("127.0.0.1:5000", options).plain_http is True
    assert options_for("docker.io", options).validate_certs is False
    assert options_for("other.example.com", None) == DEFAULT_OPTIONS


# --- pull secrets ------------------------------------------------------------------------


@pytest.mark.parametrize("key, registry", [
    ("registry.example.com", "registry.example.com"),
    ("registry.example.com:5000", "registry.example.com:5000"),
    ("https://registry.example.com/v1/", "registry.example.com"),
    ("https://registry.example.com/v2/", "registry.example.com"),
    ("http://127.0.0.1:5000", "127.0.0.1:5000"),
    ("https://index.docker.io/v1/", "docker.io"),
    ("index.docker.io", "docker.io"),
    ("docker.io", "docker.io"),
    ("Registry.Example.com", "registry.example.com"),
    ("registry.example.com/team", "registry.example.com/team"),
    ("*.example.com", "*.example.com"),
])
def test_auths_keys_in_every_form_name_the_registry(key, registry):
    credentials = credentials_from_secret(pull_secret({key: auth_entry()}))
    assert credentials == {registry: ("alice", PASSWORD)}
    assert credentials.secret == "regcred"


def test_username_and_password_fields_work_as_well_as_auth():
    credentials = credentials_from_secret(pull_secret({"r.example.com": {"username": "bob", "password": PASSWORD}}))
    assert credentials == {"r.example.com": ("bob", PASSWORD)}


def test_a_password_may_contain_colons():
    credentials = credentials_from_secret(pull_secret({"r.example.com": auth_entry("bob", "a:b:c")}))
    assert credentials["r.example.com"] == ("bob", "a:b:c")


def test_entries_without_usable_credentials_are_skipped():
    credentials = credentials_from_secret(pull_secret({
        "token.example.com": {"identitytoken": "opaque"},
        "empty.example.com": {},
        "*bad key*": auth_entry(),
        "r.example.com": auth_entry(),
    }))
    assert credentials == {"r.example.com": ("alice", PASSWORD)}


def test_the_first_entry_for_a_registry_wins():
    credentials = credentials_from_secret(pull_secret({
        "https://index.docker.io/v1/": auth_entry("first"),
        "docker.io": auth_entry("second"),
    }))
    assert credentials == {"docker.io": ("first", PASSWORD)}


def test_legacy_dockercfg_secrets_are_read():
    credentials = credentials_from_secret(pull_secret({"https://index.docker.io/v1/": auth_entry()}, name="old", legacy=True))
    assert credentials == {"docker.io": ("alice", PASSWORD)}
    assert credentials.secret == "old"


def test_credentials_hide_the_password_in_their_repr():
    credentials = credentials_from_secret(pull_secret({"r.example.com": auth_entry()}))
    assert PASSWORD not in repr(credentials)
    assert PASSWORD not in repr(credentials["r.example.com"])
    assert "alice" in repr(credentials["r.example.com"])


def _with_data(data, secret_type="kubernetes.io/dockerconfigjson"):
    return {"metadata": {"name": "x"}, "type": secret_type, "data": data}


@pytest.mark.parametrize("secret, words", [
    ("not a secret", ["image_pull_secrets:", "must be a mapping", "not str"]),
    ({"metadata": {"name": "x"}, "type": "Opaque", "data": {}},
     ["image_pull_secrets: secret 'x' is of type Opaque, not kubernetes.io/dockerconfigjson"]),
    ({"metadata": {"name": "x"}, "data": {}}, ["secret 'x' is of type None"]),
    ({"metadata": {"name": "x"}, "type": "kubernetes.io/dockerconfigjson"}, ["secret 'x'", "has no data[.dockerconfigjson]"]),
    (_with_data({".dockercfg": b64("{}")}), ["secret 'x'", "has no data[.dockerconfigjson]"]),
    (_with_data({".dockerconfigjson": "%%% not base64"}), ["secret 'x'", "data[.dockerconfigjson] is not valid base64"]),
    (_with_data({".dockerconfigjson": ""}), ["secret 'x'", "data[.dockerconfigjson] is empty"]),
    (_with_data({".dockerconfigjson": b64("auths: {}")}), ["secret 'x'", "data[.dockerconfigjson] is not JSON"]),
    (_with_data({".dockerconfigjson": b64(b"\xff\xfe")}), ["secret 'x'", "is not JSON"]),
    (_with_data({".dockerconfigjson": b64("{}")}), ["secret 'x'", "has no 'auths' key"]),
    (_with_data({".dockerconfigjson": b64("[]")}), ["secret 'x'", "has no 'auths' key"]),
    (_with_data({".dockerconfigjson": b64('{"auths": ["r.example.com"]}')}), ["secret 'x'", "auths", "are a list, not a mapping"]),
    (_with_data({".dockercfg": b64("[]")}, "kubernetes.io/dockercfg"), ["secret 'x'", "data[.dockercfg] are a list"]),
    (_with_data({".dockerconfigjson": b64('{"auths": {"r.example.com": "alice"}}')}),
     ["secret 'x'", "entry for 'r.example.com' is not a mapping"]),
    (_with_data({".dockerconfigjson": b64('{"auths": {"r.example.com": {"auth": "%%%"}}}')}),
     ["secret 'x'", "entry for 'r.example.com'", "'auth' that is not base64"]),
    (_with_data({".dockerconfigjson": b64(json.dumps({"auths": {"r.example.com": {"auth": b64(PASSWORD)}}}))}),
     ["secret 'x'", "not base64 of username:password"]),
    (_with_data({".dockerconfigjson": b64('{"auths": {"r.example.com": {"auth": 5}}}')}),
     ["secret 'x'", "'auth' that is not a string"]),
    (_with_data({".dockerconfigjson": b64(json.dumps({"auths": {"r.example.com": {"username": "alice"}}}))}),
     ["secret 'x'", "both 'username' and 'password'"]),
])
def test_bad_secrets_name_the_secret_and_what_is_wrong(secret, words):
    with pytest.raises(InvalidInput) as caught:
        credentials_from_secret(secret)
    for word in words:
        assert word in caught.value.msg
    assert PASSWORD not in caught.value.msg
    assert b64(PASSWORD) not in caught.value.msg


# --- which credential for which registry ---------------------------------------------------


def test_the_first_secret_in_the_pods_order_wins():
    maps = [credentials_from_secret(pull_secret({"other.example.com": auth_entry("o")}, name="a")),
            credentials_from_secret(pull_secret({"r.example.com": auth_entry("first")}, name="b")),
            credentials_from_secret(pull_secret({"r.example.com": auth_entry("second")}, name="c"))]
    assert credential_for("r.example.com", maps) == ("first", PASSWORD)
    assert credential_source("r.example.com", maps) == (("first", PASSWORD), "b")
    assert credential_for("unknown.example.com", maps) is None
    assert credential_source("unknown.example.com", maps) == (None, None)
    assert credential_for("r.example.com", []) is None


def test_host_and_port_must_both_match():
    maps = [credentials_from_secret(pull_secret({"127.0.0.1:5000": auth_entry("five"), "127.0.0.1": auth_entry("bare")}))]
    assert credential_for("127.0.0.1:5000", maps).username == "five"
    assert credential_for("127.0.0.1", maps).username == "bare"
    assert credential_for("127.0.0.1:5001", maps) is None


@pytest.mark.parametrize("key", ["https://index.docker.io/v1/", "index.docker.io", "registry-1.docker.io", "docker.io"])
@pytest.mark.parametrize("domain", ["docker.io", "index.docker.io", "registry-1.docker.io"])
def test_docker_hub_aliases_match_each_other(key, domain):
    maps = [credentials_from_secret(pull_secret({key: auth_entry()}))]
    assert credential_for(domain, maps) == ("alice", PASSWORD)


def test_a_path_in_a_key_limits_it_to_repositories_under_that_path():
    maps = [credentials_from_secret(pull_secret({
        "r.example.com": auth_entry("anyone"),
        "r.example.com/team": auth_entry("team"),
        "r.example.com/team/app": auth_entry("app"),
    }))]
    assert credential_for("r.example.com", maps, "team/app").username == "app"
    assert credential_for("r.example.com", maps, "team/other").username == "team"
    assert credential_for("r.example.com", maps, "teamster/app").username == "anyone"
    assert credential_for("r.example.com", maps).username == "anyone"
    only_team = [credentials_from_secret(pull_secret({"r.example.com/team": auth_entry("team")}))]
    assert credential_for("r.example.com", only_team, "other/app") is None


def test_globs_match_one_label_and_an_exact_host_beats_them():
    maps = [credentials_from_secret(pull_secret({"*.example.com": auth_entry("glob"), "exact.example.com": auth_entry("exact")}))]
    assert credential_for("exact.example.com", maps).username == "exact"
    assert credential_for("other.example.com", maps).username == "glob"
    assert credential_for("a.b.example.com", maps) is None
    assert credential_for("other.example.com:5000", maps) is None


def test_plain_tuple_maps_work_too():
    assert credential_for("r.example.com", [{"r.example.com": ("u", "p")}]) == ("u", "p")


def test_basic_authorization_header():
    assert basic_authorization(Credential("alice", "pw")) == "Basic " + b64("alice:pw")


# --- WWW-Authenticate ----------------------------------------------------------------------


def test_bearer_challenge():
    header = 'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:team/app:pull"'
    assert parse_challenge(header) == ("bearer", {
        "realm": "https://auth.example.com/token",
        "service": "registry.example.com",
        "scope": "repository:team/app:pull",
    })


def test_basic_challenge():
    assert parse_challenge('Basic realm="Registry Realm"') == ("basic", {"realm": "Registry Realm"})


def test_quoted_values_may_hold_commas_and_escaped_quotes():
    header = r'Bearer realm="https://a.example.com/t?x=1,2", error="insufficient_scope", note="say \"hi\", ok"'
    assert parse_challenge(header) == ("bearer", {
        "realm": "https://a.example.com/t?x=1,2", "error": "insufficient_scope", "note": 'say "hi", ok'})


def test_scheme_and_parameter_names_are_case_insensitive_and_values_may_be_unquoted():
    assert parse_challenge("BEARER Realm=https://a.example.com/token , Service=reg") == (
        "bearer", {"realm": "https://a.example.com/token", "service": "reg"})


def test_several_challenges_in_one_header():
    assert parse_challenges('Negotiate abc123==, Basic realm="a, b", Bearer realm="https://t.example.com/"') == [
        ("negotiate", {}), ("basic", {"realm": "a, b"}), ("bearer", {"realm": "https://t.example.com/"})]


@pytest.mark.parametrize("header", [None, "", "   ", 5])
def test_no_challenge(header):
    assert parse_challenge(header) == (None, {})
    assert parse_challenges(header) == []


def test_a_scheme_without_parameters():
    assert parse_challenge("Basic") == ("basic", {})


def test_unreadable_text_ends_the_parse_without_error():
    assert parse_challenges('Bearer realm="unterminated') == [("bearer", {"realm": ""})]
