"""Write a Fiji update site for the plugin jar and the runtime jars that Fiji does not ship.

The output folder is what a maintainer uploads: ``db.xml.gz`` (the index the Fiji updater
reads) and every file under its uploaded name ``<path>-<timestamp>``. The format follows
``net.imagej:imagej-updater`` (``XMLFileWriter``, ``UpdaterUtil.getDigest``/``getJarDigest``,
``FilesCollection.getURL``):

* A file's URL is the site URL, its path, ``-`` and its version timestamp (``yyyyMMddHHmmss``).
* A jar's checksum is SHA-1 over its entries sorted by name: each entry's name, then its
  content, where ``.properties`` entries drop their ``#`` comment lines and the manifest
  contributes no content. Other files hash their path, then their content.
* Jars under ``jars/<platform>/`` carry that platform tag, so only that platform installs them.
* Dependencies are written with the version stripped from the file name.

Run through ``update-site/build``, which resolves the inputs with Maven.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import hashlib
import logging
import re
import shutil
import sys
import xml.etree.ElementTree as ElementTree
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

LOG = logging.getLogger("make_site")

MANIFEST = "META-INF/MANIFEST.MF"
TIMESTAMP_FORMAT = "%Y%m%d%H%M%S"
CHUNK = 1 << 20

# Maven classifiers of DJL's native jars and the Fiji platform folder each one belongs to
# (platform names from imagej-updater's Platforms: linux64, linux-arm64, macos64, macos-arm64,
# win64).
PLATFORM_OF_CLASSIFIER = {
    "linux-x86_64": "linux64",
    "linux-aarch64": "linux-arm64",
    "osx-x86_64": "macos64",
    "osx-aarch64": "macos-arm64",
    "win-x86_64": "win64",
}

# The element order is fixed by the updater's DTD, which it embeds in every db.xml.gz it writes.
DOCTYPE = """<!DOCTYPE pluginRecords [
<!ELEMENT pluginRecords ((update-site | disabled-update-site)*, plugin*)>
<!ELEMENT update-site EMPTY>
<!ELEMENT disabled-update-site EMPTY>
<!ELEMENT plugin (platform*, category*, version?, previous-version*)>
<!ELEMENT version (description?, dependency*, link*, author*)>
<!ELEMENT previous-version EMPTY>
<!ELEMENT description (#PCDATA)>
<!ELEMENT dependency EMPTY>
<!ELEMENT link (#PCDATA)>
<!ELEMENT author (#PCDATA)>
<!ELEMENT platform (#PCDATA)>
<!ELEMENT category (#PCDATA)>
<!ATTLIST update-site name CDATA #REQUIRED>
<!ATTLIST update-site url CDATA #REQUIRED>
<!ATTLIST update-site ssh-host CDATA #IMPLIED>
<!ATTLIST update-site upload-directory CDATA #IMPLIED>
<!ATTLIST update-site description CDATA #IMPLIED>
<!ATTLIST update-site maintainer CDATA #IMPLIED>
<!ATTLIST update-site timestamp CDATA #REQUIRED>
<!ATTLIST disabled-update-site name CDATA #REQUIRED>
<!ATTLIST disabled-update-site url CDATA #REQUIRED>
<!ATTLIST disabled-update-site ssh-host CDATA #IMPLIED>
<!ATTLIST disabled-update-site upload-directory CDATA #IMPLIED>
<!ATTLIST disabled-update-site description CDATA #IMPLIED>
<!ATTLIST disabled-update-site maintainer CDATA #IMPLIED>
<!ATTLIST disabled-update-site timestamp CDATA #REQUIRED>
<!ATTLIST plugin update-site CDATA #IMPLIED>
<!ATTLIST plugin filename CDATA #REQUIRED>
<!ATTLIST plugin executable CDATA #IMPLIED>
<!ATTLIST dependency filename CDATA #REQUIRED>
<!ATTLIST dependency timestamp CDATA #IMPLIED>
<!ATTLIST dependency overrides CDATA #IMPLIED>
<!ATTLIST version timestamp CDATA #REQUIRED>
<!ATTLIST version checksum CDATA #REQUIRED>
<!ATTLIST version filesize CDATA #REQUIRED>
<!ATTLIST previous-version filename CDATA #IMPLIED>
<!ATTLIST previous-version timestamp CDATA #REQUIRED>
<!ATTLIST previous-version timestamp-obsolete CDATA #IMPLIED>
<!ATTLIST previous-version checksum CDATA #REQUIRED>]>
"""


_CLASSIFIERS = "|".join(re.escape(classifier) for classifier in PLATFORM_OF_CLASSIFIER)
VERSIONED_JAR = re.compile(rf"(?P<base>.+?)-\d[^/]*?(?P<classifier>-(?:{_CLASSIFIERS}))?\.jar")


class SiteError(Exception):
    """An input problem that the maintainer can fix; the message names the input and the fix."""


# -- checksums --------------------------------------------------------------------------------


def strip_comment_lines(data: bytes) -> bytes:
    """Return ``.properties`` content as the updater hashes it.

    The updater drops each line that starts with ``#`` but keeps its newline, so that the date
    comment that ``java.util.Properties`` writes does not change the checksum. Its stream filter
    treats the first character after a blank line or after an empty ``#`` line as mid-line, so a
    ``#`` line right after either is kept. This port keeps that behaviour, because the checksum
    has to match byte for byte.
    """
    out = bytearray()
    at_line_start = True
    position = 0
    size = len(data)
    while position < size:
        char = data[position]
        position += 1
        if not at_line_start:
            out.append(char)
            at_line_start = char == 0x0A
            continue
        if char != 0x23:  # '#'
            out.append(char)
            at_line_start = False
            continue
        # Skip the comment up to its newline, which is kept.
        while position < size:
            char = data[position]
            position += 1
            if at_line_start and char != 0x23:
                at_line_start = False
            elif not at_line_start and char == 0x0A:
                at_line_start = True
            if char == 0x0A:
                out.append(char)
                break
    return bytes(out)


def jar_checksum(path: Path) -> str:
    """Return the updater's SHA-1 of a jar: sorted entries, names and filtered contents."""
    digest = hashlib.sha1()
    with zipfile.ZipFile(path) as jar:
        for name in sorted(info.filename for info in jar.infolist()):
            digest.update(name.encode("ascii", errors="replace"))
            if name == MANIFEST:
                # The updater keeps only lines whose upper-cased text starts with the mixed-case
                # "Main-Class:", which no line does, so a manifest adds no content.
                continue
            with jar.open(name) as entry:
                if name.endswith(".properties"):
                    digest.update(strip_comment_lines(entry.read()))
                    continue
                for chunk in iter(lambda: entry.read(CHUNK), b""):
                    digest.update(chunk)
    return digest.hexdigest()


def file_checksum(site_path: str, path: Path) -> str:
    """Return the updater's SHA-1 of a file: the jar rule for jars, else path then content."""
    if site_path.endswith(".jar"):
        return jar_checksum(path)
    digest = hashlib.sha1(site_path.encode("ascii"))
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


# -- the files of the site ----------------------------------------------------------------------


@dataclass(frozen=True)
class Artifact:
    """One resolved Maven artifact: coordinates and the jar in the local repository."""

    group_id: str
    artifact_id: str
    version: str
    classifier: str
    jar: Path

    @property
    def key(self) -> str:
        return f"{self.group_id}:{self.artifact_id}"

    def site_path(self) -> str:
        """Return the path inside Fiji: ``jars/`` or ``jars/<platform>/`` plus Maven's file name."""
        if self.classifier and self.classifier not in PLATFORM_OF_CLASSIFIER:
            raise SiteError(
                f"Unknown classifier '{self.classifier}' of {self.key}: add its Fiji platform to "
                "PLATFORM_OF_CLASSIFIER in update-site/src/make_site.py."
            )
        folder = f"jars/{PLATFORM_OF_CLASSIFIER[self.classifier]}/" if self.classifier else "jars/"
        return folder + self.jar.name


@dataclass(frozen=True)
class SiteFile:
    """One file to publish: its path inside Fiji, the file to upload and its metadata."""

    path: str
    source: Path
    description: str
    platforms: tuple[str, ...] = ()


@dataclass
class Record:
    """One ``<plugin>`` element of db.xml.gz."""

    filename: str
    platforms: list[str] = field(default_factory=list)
    checksum: str | None = None
    timestamp: str | None = None
    filesize: int = 0
    description: str | None = None
    dependencies: list[tuple[str, str]] = field(default_factory=list)
    previous: list[dict[str, str]] = field(default_factory=list)


def parse_dependency_list(path: Path) -> list[Artifact]:
    """Read ``mvn dependency:list -DoutputAbsoluteArtifactFilename=true`` output."""
    artifacts = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("The following") or line == "none":
            continue
        coordinates = line.split(" -- ", 1)[0].strip()  # newer plugins append " -- module ..."
        fields = coordinates.split(":")
        if len(fields) == 6:
            group_id, artifact_id, _type, version, _scope, jar = fields
            classifier = ""
        elif len(fields) == 7:
            group_id, artifact_id, _type, classifier, version, _scope, jar = fields
        else:
            raise SiteError(f"Unexpected line in {path}: '{line}'")
        artifacts.append(Artifact(group_id, artifact_id, version, classifier, Path(jar)))
    return artifacts


def read_fiji_jars(path: Path) -> set[str]:
    """Read ``groupId:artifactId`` keys of the jars Fiji ships (first column; ``#`` comments)."""
    keys = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            keys.add(line.split()[0])
    return keys


def read_previous_site(path: Path) -> dict[str, Record]:
    """Read the currently published db.xml.gz, keyed by unversioned path (see ``unversioned``)."""
    with gzip.open(path) as stream:
        root = ElementTree.parse(stream).getroot()
    records = {}
    for plugin in root.iter("plugin"):
        record = Record(filename=plugin.get("filename"))
        record.platforms = [platform.text for platform in plugin.findall("platform")]
        version = plugin.find("version")
        if version is not None:
            record.checksum = version.get("checksum")
            record.timestamp = version.get("timestamp")
            record.filesize = int(version.get("filesize"))
            description = version.find("description")
            record.description = description.text if description is not None else None
        record.previous = [dict(previous.attrib) for previous in plugin.findall("previous-version")]
        records[unversioned(record.filename)] = record
    return records


def unversioned(path: str) -> str:
    """Return a site path without its Maven version, the form the updater keys dependencies by.

    ``jars/api-0.36.0.jar`` becomes ``jars/api.jar``, and
    ``jars/linux64/pytorch-native-cpu-2.7.1-linux-x86_64.jar`` becomes
    ``jars/linux64/pytorch-native-cpu-linux-x86_64.jar``: the version starts at the first ``-``
    followed by a digit, and a native classifier after it stays, as scijava-common's
    ``FileUtils.stripFilenameVersion`` has it for these names.
    """
    match = VERSIONED_JAR.fullmatch(path)
    if match is None:
        return path
    return match["base"] + (match["classifier"] or "") + ".jar"


# -- writing ------------------------------------------------------------------------------------


def site_files(plugin_jar: Path, plugin_description: str, shipped: list[Artifact]) -> list[SiteFile]:
    """Return the plugin jar first, then the shipped dependency jars."""
    files = [SiteFile(f"jars/{plugin_jar.name}", plugin_jar, plugin_description)]
    for artifact in shipped:
        platform = PLATFORM_OF_CLASSIFIER.get(artifact.classifier)
        classifier = f" ({artifact.classifier})" if artifact.classifier else ""
        description = (f"{artifact.group_id}:{artifact.artifact_id}:{artifact.version}{classifier},"
                       " needed by FSSM Upscale.")
        files.append(SiteFile(artifact.site_path(), artifact.jar, description,
                              (platform,) if platform else ()))
    return files


def build_records(files: list[SiteFile], timestamp: str,
                  previous: dict[str, Record]) -> tuple[list[Record], dict[str, Path]]:
    """Return the site's records and, per uploaded name, the file to copy there.

    A file whose checksum and path equal the published ones keeps the published timestamp, so
    it needs no upload. A changed or renamed file gets ``timestamp``, and the published version
    becomes a ``previous-version``, which lets the updater tell an outdated install from a
    locally modified one. ``files[0]`` is the plugin jar, which depends on all the others.
    """
    records = []
    uploads = {}
    for site_file in files:
        record = Record(filename=site_file.path, platforms=list(site_file.platforms),
                        description=site_file.description)
        record.checksum = file_checksum(site_file.path, site_file.source)
        record.filesize = site_file.source.stat().st_size
        record.timestamp = timestamp
        published = previous.pop(unversioned(site_file.path), None)
        if published is not None:
            record.previous = list(published.previous)
            if published.checksum == record.checksum and published.filename == site_file.path:
                record.timestamp = published.timestamp
            elif published.checksum is not None:
                record.previous.append(retired_version(published, timestamp))
        uploads[f"{site_file.path}-{record.timestamp}"] = site_file.source
        records.append(record)

    # The updater installs a dependency only where its platform matches.
    records[0].dependencies = [(unversioned(record.filename), record.timestamp) for record in records[1:]]

    # Published files that this build no longer ships stay listed without a current version,
    # so that the updater uninstalls them.
    for obsolete in previous.values():
        if obsolete.checksum is not None:
            obsolete.previous.append(retired_version(obsolete, timestamp))
        obsolete.checksum = None
        records.append(obsolete)
    return records, uploads


def retired_version(published: Record, timestamp: str) -> dict[str, str]:
    """Return the ``previous-version`` attributes of a published version replaced at ``timestamp``."""
    return {
        "timestamp": published.timestamp,
        "timestamp-obsolete": timestamp,
        "checksum": published.checksum,
        "filename": published.filename,
    }


def render_db_xml(records: list[Record]) -> str:
    """Return db.xml in the updater's layout: DTD, 4-space indent, one ``<plugin>`` per file."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', DOCTYPE + "<pluginRecords>"]
    for record in records:
        lines.append(f"    <plugin filename={quoteattr(record.filename)}>")
        lines.extend(f"        <platform>{escape(platform)}</platform>" for platform in record.platforms)
        if record.checksum is not None:
            lines.append(f'        <version checksum="{record.checksum}" timestamp="{record.timestamp}"'
                         f' filesize="{record.filesize}">')
            if record.description:
                lines.append(f"            <description>{escape(record.description)}</description>")
            lines.extend(f'            <dependency filename={quoteattr(name)} timestamp="{stamp}"/>'
                         for name, stamp in record.dependencies)
            lines.append("        </version>")
        for previous in record.previous:
            attributes = " ".join(f"{key}={quoteattr(str(previous[key]))}"
                                  for key in ("timestamp", "timestamp-obsolete", "checksum", "filename")
                                  if previous.get(key))
            lines.append(f"        <previous-version {attributes}/>")
        lines.append("    </plugin>")
    lines.append("</pluginRecords>")
    return "\n".join(lines) + "\n"


def write_site(out: Path, records: list[Record], uploads: dict[str, Path]) -> None:
    """Replace ``out`` with db.xml.gz and the uploaded files."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for uploaded_name, source in uploads.items():
        target = out / uploaded_name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        LOG.info("%s (%d bytes)", uploaded_name, target.stat().st_size)
    # mtime=0 keeps db.xml.gz identical for identical content.
    with gzip.GzipFile(out / "db.xml.gz", "wb", mtime=0) as stream:
        stream.write(render_db_xml(records).encode("utf-8"))


# -- command line -------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--jar", type=Path, required=True, help="the plugin jar built by Maven")
    parser.add_argument("--dependencies", type=Path, required=True,
                        help="output file of mvn dependency:list (runtime scope, absolute paths)")
    parser.add_argument("--fiji-jars", type=Path, required=True,
                        help="groupId:artifactId list of jars Fiji ships; these are not uploaded")
    parser.add_argument("--out", type=Path, required=True, help="site folder to (re)create")
    parser.add_argument("--previous", type=Path,
                        help="db.xml.gz of the published site, to keep its versions as previous versions")
    parser.add_argument("--timestamp", help="version timestamp yyyyMMddHHmmss (default: now, UTC)")
    parser.add_argument("--description", default="FSSM Upscale: super-resolution of images with the FSSM"
                        " network (Plugins > FSSM Upscale).", help="description of the plugin jar")
    return parser.parse_args(argv)


def check_timestamp(value: str | None) -> str:
    if value is None:
        return datetime.datetime.now(datetime.timezone.utc).strftime(TIMESTAMP_FORMAT)
    try:
        datetime.datetime.strptime(value, TIMESTAMP_FORMAT)
    except ValueError as error:
        raise SiteError(f"Invalid --timestamp '{value}': use yyyyMMddHHmmss, e.g. 20260101120000.") from error
    return value


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = parse_args(argv)
    try:
        timestamp = check_timestamp(args.timestamp)
        if not args.jar.is_file():
            raise SiteError(f"Plugin jar not found: {args.jar}; run mvn package first.")
        fiji_jars = read_fiji_jars(args.fiji_jars)
        artifacts = parse_dependency_list(args.dependencies)
        shipped = [artifact for artifact in artifacts if artifact.key not in fiji_jars]
        for artifact in artifacts:
            if artifact.key in fiji_jars:
                LOG.info("not shipped (Fiji has it): %s:%s", artifact.key, artifact.version)
        previous = read_previous_site(args.previous) if args.previous else {}
        records, uploads = build_records(site_files(args.jar, args.description, shipped), timestamp, previous)
        write_site(args.out, records, uploads)
    except SiteError as error:
        LOG.error("%s", error)
        return 1
    LOG.info("wrote %s with %d files (timestamp %s)", args.out / "db.xml.gz", len(uploads), timestamp)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
