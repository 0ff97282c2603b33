"""test_meta.py: META.json is valid against the PGXN Meta Spec v1.0.0 (https://pgxn.org/spec/) and
agrees with pgmq.control and LICENSE.

validate() is a small validator of the spec's rules that matter for a distribution: required keys,
the types and formats of values (semantic versions, the spec's license strings, maintainers,
provides entries, prereqs phases and relationships, resources, no_index, tags, release_status),
and, outside the spec, that files it names exist and that no placeholder URL is left.
"""
import copy
import json
import os
import re

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# Semantic Versioning as the spec references it: MAJOR.MINOR.PATCH, an optional pre-release suffix.
SEMVER = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-?[A-Za-z][0-9A-Za-z-]*)?$")
# A version range: a version, 0, or comma-separated operator-version pairs.
RANGE_PART = re.compile(r"^\s*(==|!=|>=|<=|>|<)?\s*(\S+)\s*$")
LICENSES = {
    "agpl_3", "apache_1_1", "apache_2_0", "artistic_1", "artistic_2", "bsd", "freebsd", "gfdl_1_2",
    "gfdl_1_3", "gpl_1", "gpl_2", "gpl_3", "lgpl_2_1", "lgpl_3_0", "mit", "mozilla_1_0", "mozilla_1_1",
    "openssl", "perl_5", "postgresql", "qpl_1_0", "ssleay", "sun", "zlib", "open_source", "restricted",
    "unrestricted", "unknown",
}
REQUIRED = {"name", "abstract", "maintainer", "license", "provides", "meta-spec", "version"}
OPTIONAL = {"description", "generated_by", "tags", "no_index", "prereqs", "release_status", "resources"}
PHASES = {"configure", "build", "test", "runtime", "develop"}
RELATIONS = {"requires", "recommends", "suggests", "conflicts"}
RELEASE_STATUS = {"stable", "testing", "unstable"}
NAME = re.compile(r"^[^\s/\\:]{2,}$")  # at least two characters, no whitespace, slash, backslash or colon


def _custom(key):
    return key.startswith(("x_", "X_"))


def _string(value):
    return isinstance(value, str) and value.strip() != ""


def _version_range(value):
    if value == 0 or value == "0":
        return True
    if not isinstance(value, str):
        return False
    for part in value.split(","):
        m = RANGE_PART.match(part)
        if not m or not SEMVER.match(m.group(2)):
            return False
    return True


def _keys(errors, where, obj, allowed, required=()):
    if not isinstance(obj, dict):
        errors.append(f"{where}: must be an object")
        return False
    for key in obj:
        if key not in allowed and not _custom(key):
            errors.append(f"{where}: unknown key {key!r}")
    for key in required:
        if key not in obj:
            errors.append(f"{where}: missing {key!r}")
    return True


def _url(errors, where, value):
    if not (_string(value) and re.match(r"^(https?|git|mailto):", value)):
        errors.append(f"{where}: not a URL: {value!r}")
    elif re.search(r"\bexample\.(invalid|com|org|net)\b|\blocalhost\b", value):
        errors.append(f"{where}: placeholder URL {value!r}")


def validate(meta, root=REPO):
    """validate returns the list of ways meta breaks the PGXN Meta Spec v1.0.0 (empty when valid)."""
    errors = []
    if not _keys(errors, "META", meta, REQUIRED | OPTIONAL, sorted(REQUIRED)):
        return errors
    if "name" in meta and not (isinstance(meta["name"], str) and NAME.match(meta["name"])):
        errors.append(f"name: invalid {meta['name']!r}")
    for key in ("abstract", "description", "generated_by"):
        if key in meta and not _string(meta[key]):
            errors.append(f"{key}: must be a non-empty string")
    if "version" in meta and not (isinstance(meta["version"], str) and SEMVER.match(meta["version"])):
        errors.append(f"version: not a semantic version: {meta['version']!r}")
    maintainers = meta.get("maintainer")
    if maintainers is not None:
        listed = maintainers if isinstance(maintainers, list) else [maintainers]
        if not listed or not all(_string(m) for m in listed):
            errors.append("maintainer: must be a string or a non-empty list of strings")
    lic = meta.get("license")
    if lic is not None:
        if isinstance(lic, str):
            names = [lic]
        elif isinstance(lic, list):
            names = lic
        elif isinstance(lic, dict):
            names = []
            for k, v in lic.items():
                _url(errors, f"license.{k}", v)
        else:
            names = [None]
        if isinstance(lic, list) and not lic:
            errors.append("license: empty list")
        for n in names:
            if n not in LICENSES:
                errors.append(f"license: unknown license string {n!r}")
    provides = meta.get("provides")
    if provides is not None:
        if not isinstance(provides, dict) or not provides:
            errors.append("provides: must be a non-empty object")
        else:
            for ext, entry in provides.items():
                where = f"provides.{ext}"
                if not NAME.match(ext):
                    errors.append(f"{where}: invalid extension name")
                if not _keys(errors, where, entry, {"file", "version", "abstract", "docfile"},
                             ("file", "version")):
                    continue
                if "version" in entry and not (isinstance(entry["version"], str) and SEMVER.match(entry["version"])):
                    errors.append(f"{where}.version: not a semantic version: {entry['version']!r}")
                for key in ("file", "docfile"):
                    if key in entry and not (_string(entry[key]) and os.path.isfile(os.path.join(root, entry[key]))):
                        errors.append(f"{where}.{key}: no such file {entry[key]!r}")
                if "abstract" in entry and not _string(entry["abstract"]):
                    errors.append(f"{where}.abstract: must be a non-empty string")
    spec = meta.get("meta-spec")
    if spec is not None and _keys(errors, "meta-spec", spec, {"version", "url"}, ("version",)):
        if spec.get("version") != "1.0.0":
            errors.append(f"meta-spec.version: must be '1.0.0', got {spec.get('version')!r}")
        if "url" in spec:
            _url(errors, "meta-spec.url", spec["url"])
    if "prereqs" in meta and _keys(errors, "prereqs", meta["prereqs"], PHASES):
        for phase, relations in meta["prereqs"].items():
            if not _keys(errors, f"prereqs.{phase}", relations, RELATIONS):
                continue
            for relation, deps in relations.items():
                if not _keys(errors, f"prereqs.{phase}.{relation}", deps, set(deps) if isinstance(deps, dict) else set()):
                    continue
                for dep, rng in deps.items():
                    if not _version_range(rng):
                        errors.append(f"prereqs.{phase}.{relation}.{dep}: not a version range: {rng!r}")
    if "release_status" in meta and meta["release_status"] not in RELEASE_STATUS:
        errors.append(f"release_status: must be one of {sorted(RELEASE_STATUS)}")
    if "tags" in meta:
        tags = meta["tags"]
        if not isinstance(tags, list) or not tags or not all(_string(t) and len(t) <= 255 for t in tags):
            errors.append("tags: must be a non-empty list of strings of at most 255 characters")
    if "no_index" in meta and _keys(errors, "no_index", meta["no_index"], {"file", "directory"}):
        for key, value in meta["no_index"].items():
            values = value if isinstance(value, list) else [value]
            if not all(_string(v) for v in values):
                errors.append(f"no_index.{key}: must be a string or a list of strings")
    if "resources" in meta and _keys(errors, "resources", meta["resources"], {"homepage", "bugtracker", "repository"}):
        res = meta["resources"]
        if "homepage" in res:
            _url(errors, "resources.homepage", res["homepage"])
        if "bugtracker" in res and _keys(errors, "resources.bugtracker", res["bugtracker"], {"web", "mailto"}):
            for k, v in res["bugtracker"].items():
                _url(errors, f"resources.bugtracker.{k}", v if k == "web" else "mailto:" + str(v))
        if "repository" in res and _keys(errors, "resources.repository", res["repository"], {"url", "web", "type"}):
            for k in ("url", "web"):
                if k in res["repository"]:
                    _url(errors, f"resources.repository.{k}", res["repository"][k])
    return errors


def _meta():
    with open(os.path.join(REPO, "META.json")) as f:
        return json.load(f)


def _control_version():
    text = open(os.path.join(REPO, "pgmq.control")).read()
    return re.search(r"^default_version\s*=\s*'([^']+)'", text, re.M)[1]


def test_meta_is_valid():
    assert validate(_meta()) == []


def test_meta_agrees_with_control_and_license():
    meta = _meta()
    assert meta["version"] == _control_version()
    assert meta["provides"]["pgmq"]["version"] == meta["version"]
    assert meta["release_status"] == "stable"
    assert meta["prereqs"]["runtime"]["requires"]["PostgreSQL"] == "15.0.0"
    assert meta["no_index"]["directory"] == ["test"]
    assert meta["license"] == "postgresql"
    license_text = open(os.path.join(REPO, "LICENSE")).read()
    assert license_text.startswith("PostgreSQL License")
    assert "the pgmq developers" in license_text


@pytest.mark.parametrize("change, message", [
    (lambda m: m.pop("name"), "missing 'name'"),
    (lambda m: m.update(version="2.0"), "not a semantic version"),
    (lambda m: m.update(license="PostgreSQL License"), "unknown license string"),
    (lambda m: m["provides"]["pgmq"].pop("file"), "provides.pgmq: missing 'file'"),
    (lambda m: m["provides"]["pgmq"].update(file="sql/none.sql"), "no such file"),
    (lambda m: m["provides"]["pgmq"].update(version="v2"), "provides.pgmq.version"),
    (lambda m: m.update(release_status="final"), "release_status"),
    (lambda m: m["prereqs"]["runtime"]["requires"].update(PostgreSQL="15"), "not a version range"),
    (lambda m: m["prereqs"].update(install={}), "unknown key 'install'"),
    (lambda m: m.update(resources={"bugtracker": {"web": "https://example.invalid/pgmq/issues"}}), "placeholder"),
    (lambda m: m["meta-spec"].update(version="2.0.0"), "meta-spec.version"),
    (lambda m: m.update(homepage="https://pgxn.org"), "unknown key 'homepage'"),
])
def test_validator_rejects(change, message):
    meta = copy.deepcopy(_meta())
    change(meta)
    errors = validate(meta)
    assert any(message in e for e in errors), errors
