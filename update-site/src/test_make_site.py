"""Tests of make_site.py on small synthetic jars: checksums, names and republishing.

Run with ``python3 -m unittest discover -s update-site/src -p 'test_*.py'`` (standard library only).
"""

import gzip
import tempfile
import unittest
import zipfile
from pathlib import Path

import make_site
from make_site import Artifact, Record, SiteError, SiteFile


def write_jar(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as jar:
        for name, content in entries.items():
            jar.writestr(name, content)
    return path


CLASS_ENTRIES = {
    "META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\nCreated-By: Maven 3.8\n",
    "META-INF/maven/g/a/pom.properties": b"#Generated on Monday\nversion=1.0\n",
    "org/example/A.class": b"\xca\xfe\xba\xbe one",
}


class StripCommentLinesTest(unittest.TestCase):

    def test_comment_text_dropped(self):
        cases = [
            (b"#date\nkey=value\n", b"\nkey=value\n"),
            (b"key=value\n#date\n", b"key=value\n\n"),
            (b"##a\nb\n", b"\nb\n"),
            # The updater's filter treats the line after an empty comment or a blank line as mid-line.
            (b"#\n#kept\nk\n", b"\n#kept\nk\n"),
            (b"\n#kept\n", b"\n#kept\n"),
            (b"a#b\n", b"a#b\n"),
            (b"#unterminated", b""),
        ]
        for content, expected in cases:
            with self.subTest(content=content):
                self.assertEqual(make_site.strip_comment_lines(content), expected)


class UnversionedTest(unittest.TestCase):

    def test_version_stripped(self):
        cases = [
            ("jars/api-0.36.0.jar", "jars/api.jar"),
            ("jars/pytorch-jni-2.7.1-0.36.0.jar", "jars/pytorch-jni.jar"),
            ("jars/fssm-upscale-0.1.0-SNAPSHOT.jar", "jars/fssm-upscale.jar"),
            ("jars/linux64/pytorch-native-cpu-2.7.1-linux-x86_64.jar",
             "jars/linux64/pytorch-native-cpu-linux-x86_64.jar"),
            ("jars/unversioned.jar", "jars/unversioned.jar"),
        ]
        for path, expected in cases:
            with self.subTest(path=path):
                self.assertEqual(make_site.unversioned(path), expected)


class ChecksumTest(unittest.TestCase):

    def setUp(self):
        self.folder = Path(tempfile.mkdtemp())

    def test_manifest_and_comments_ignored(self):
        first = write_jar(self.folder / "a.jar", CLASS_ENTRIES)
        changed = dict(CLASS_ENTRIES)
        changed["META-INF/MANIFEST.MF"] = b"Manifest-Version: 1.0\nBuild-Jdk: 21\n"
        changed["META-INF/maven/g/a/pom.properties"] = b"#Generated on Tuesday\nversion=1.0\n"
        second = write_jar(self.folder / "b.jar", changed)
        self.assertEqual(make_site.jar_checksum(first), make_site.jar_checksum(second))

    def test_class_change_detected(self):
        first = write_jar(self.folder / "a.jar", CLASS_ENTRIES)
        changed = dict(CLASS_ENTRIES)
        changed["org/example/A.class"] = b"\xca\xfe\xba\xbe two"
        second = write_jar(self.folder / "b.jar", changed)
        self.assertNotEqual(make_site.jar_checksum(first), make_site.jar_checksum(second))

    def test_entry_order_ignored(self):
        first = write_jar(self.folder / "a.jar", CLASS_ENTRIES)
        second = write_jar(self.folder / "b.jar", dict(reversed(list(CLASS_ENTRIES.items()))))
        self.assertEqual(make_site.jar_checksum(first), make_site.jar_checksum(second))

    def test_other_files_hash_path(self):
        path = self.folder / "macro.ijm"
        path.write_bytes(b"print(1);\n")
        self.assertNotEqual(make_site.file_checksum("macros/a.ijm", path),
                            make_site.file_checksum("macros/b.ijm", path))


class ArtifactTest(unittest.TestCase):

    def test_native_classifier_goes_to_platform_folder(self):
        artifact = Artifact("ai.djl.pytorch", "pytorch-native-cpu", "2.7.1", "linux-x86_64",
                            Path("/m2/pytorch-native-cpu-2.7.1-linux-x86_64.jar"))
        self.assertEqual(artifact.site_path(), "jars/linux64/pytorch-native-cpu-2.7.1-linux-x86_64.jar")

    def test_unknown_classifier_rejected(self):
        artifact = Artifact("g", "a", "1", "sources", Path("/m2/a-1-sources.jar"))
        with self.assertRaises(SiteError):
            artifact.site_path()

    def test_dependency_list_parsed(self):
        listing = Path(tempfile.mkdtemp()) / "deps.txt"
        listing.write_text(
            "\nThe following files have been resolved:\n"
            "   ai.djl:api:jar:0.36.0:compile:/m2/api-0.36.0.jar -- module ai.djl.api\n"
            "   ai.djl.pytorch:pytorch-native-cpu:jar:linux-x86_64:2.7.1:compile:/m2/n.jar\n")
        api, native = make_site.parse_dependency_list(listing)
        self.assertEqual((api.key, api.version, api.classifier), ("ai.djl:api", "0.36.0", ""))
        self.assertEqual(api.jar, Path("/m2/api-0.36.0.jar"))
        self.assertEqual((native.classifier, native.version), ("linux-x86_64", "2.7.1"))


class RepublishTest(unittest.TestCase):
    """Builds a site, then the next release with --previous set to the first one's db.xml.gz."""

    def setUp(self):
        self.folder = Path(tempfile.mkdtemp())
        self.plugin = write_jar(self.folder / "plugin-1.0.0.jar", CLASS_ENTRIES)
        self.library = write_jar(self.folder / "lib-1.0.0.jar", {"lib/L.class": b"lib"})
        self.dropped = write_jar(self.folder / "old-1.0.0.jar", {"old/O.class": b"old"})
        files = [SiteFile("jars/plugin-1.0.0.jar", self.plugin, "plugin"),
                 SiteFile("jars/lib-1.0.0.jar", self.library, "lib"),
                 SiteFile("jars/old-1.0.0.jar", self.dropped, "old")]
        records, uploads = make_site.build_records(files, "20260101000000", {})
        self.first = self.folder / "first"
        make_site.write_site(self.first, records, uploads)

    def republish(self, files: list[SiteFile]) -> dict[str, Record]:
        previous = make_site.read_previous_site(self.first / "db.xml.gz")
        records, uploads = make_site.build_records(files, "20260202000000", previous)
        second = self.folder / "second"
        make_site.write_site(second, records, uploads)
        for uploaded_name in uploads:
            self.assertTrue((second / uploaded_name).is_file(), uploaded_name)
        return make_site.read_previous_site(second / "db.xml.gz")

    def test_unchanged_file_keeps_version(self):
        changed_plugin = write_jar(self.folder / "plugin-1.1.0.jar", {"org/example/A.class": b"new"})
        site = self.republish([SiteFile("jars/plugin-1.1.0.jar", changed_plugin, "plugin"),
                               SiteFile("jars/lib-1.0.0.jar", self.library, "lib")])
        library = site["jars/lib.jar"]
        self.assertEqual(library.timestamp, "20260101000000")
        self.assertEqual(library.previous, [])

    def test_changed_file_lists_previous_version(self):
        changed_plugin = write_jar(self.folder / "plugin-1.1.0.jar", {"org/example/A.class": b"new"})
        site = self.republish([SiteFile("jars/plugin-1.1.0.jar", changed_plugin, "plugin"),
                               SiteFile("jars/lib-1.0.0.jar", self.library, "lib")])
        plugin = site["jars/plugin.jar"]
        self.assertEqual(plugin.filename, "jars/plugin-1.1.0.jar")
        self.assertEqual(plugin.timestamp, "20260202000000")
        self.assertEqual(len(plugin.previous), 1)
        self.assertEqual(plugin.previous[0]["filename"], "jars/plugin-1.0.0.jar")
        self.assertEqual(plugin.previous[0]["timestamp"], "20260101000000")
        self.assertEqual(plugin.previous[0]["timestamp-obsolete"], "20260202000000")
        self.assertEqual(plugin.previous[0]["checksum"], make_site.jar_checksum(self.plugin))

    def test_dropped_file_becomes_obsolete(self):
        site = self.republish([SiteFile("jars/plugin-1.0.0.jar", self.plugin, "plugin"),
                               SiteFile("jars/lib-1.0.0.jar", self.library, "lib")])
        dropped = site["jars/old.jar"]
        self.assertIsNone(dropped.checksum)
        self.assertEqual([version["checksum"] for version in dropped.previous],
                         [make_site.jar_checksum(self.dropped)])

    def test_dependencies_follow_versions(self):
        with gzip.open(self.first / "db.xml.gz", "rt", encoding="utf-8") as stream:
            xml = stream.read()
        self.assertIn('<dependency filename="jars/lib.jar" timestamp="20260101000000"/>', xml)
        self.assertIn('<dependency filename="jars/old.jar" timestamp="20260101000000"/>', xml)


if __name__ == "__main__":
    unittest.main()
