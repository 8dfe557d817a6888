import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.text.ParseException;
import java.text.SimpleDateFormat;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;

import org.scijava.util.FileUtils;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xml.sax.ErrorHandler;
import org.xml.sax.SAXParseException;

/**
 * Checks a Fiji update site written by {@code update-site/build} against the files on disk, and
 * optionally installs it into a Fiji-like folder the way the updater does.
 *
 * <p>Run with scijava-common on the class path (for {@code FileUtils.stripFilenameVersion}, the
 * function the updater keys dependencies by):
 *
 * <pre>
 * java -cp scijava-common.jar update-site/src/SiteCheck.java SITE FIJI_JARS_LIST [--install FIJI_DIR PLATFORM]
 * </pre>
 *
 * <p>The checksums are recomputed here from the updater's rules, independently of the Python
 * code that wrote them. Every failed check is printed, and the exit status is 1 if any failed.
 */
public final class SiteCheck {

    private static final String COMMAND_CLASS = "org.fssm.upscale.command.FssmUpscaleCommand";
    private static final String PLUGIN_INDEX = "META-INF/json/org.scijava.plugin.Plugin";
    private static final String MANIFEST = "META-INF/MANIFEST.MF";
    /** Platform names of imagej-updater's {@code Platforms}, old and new. */
    private static final Set<String> PLATFORMS = Set.of("linux32", "linux64", "linux-arm64", "macosx",
            "macos64", "macos-arm64", "win32", "win64", "win-arm64");
    /** Jars that every Fiji contains, checked even if fiji-jars.txt leaves them out. */
    private static final Set<String> CORE_FIJI_JARS = Set.of("ij", "scijava-common", "imglib2", "slf4j-api");

    private final Path site;
    private final List<String> failures = new ArrayList<>();
    private int checks;

    private SiteCheck(Path site) {
        this.site = site;
    }

    /** One {@code <plugin>} element with a current version. */
    record Entry(String filename, String checksum, String timestamp, long filesize, List<String> platforms,
            Map<String, String> dependencies) {

        Path uploaded(Path site) {
            return site.resolve(filename + "-" + timestamp);
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 2 && args.length != 5) {
            System.err.println("Usage: SiteCheck SITE FIJI_JARS_LIST [--install FIJI_DIR PLATFORM]");
            System.exit(2);
        }
        SiteCheck check = new SiteCheck(Path.of(args[0]));
        List<Entry> entries = check.readIndex();
        check.checkFiles(entries);
        check.checkDependencies(entries);
        check.checkPluginJar(entries);
        check.checkNoFijiJars(entries, Path.of(args[1]));
        if (args.length == 5) {
            check.install(entries, Path.of(args[3]), args[4]);
        }
        System.out.println(check.checks + " checks, " + check.failures.size() + " failed");
        System.exit(check.failures.isEmpty() ? 0 : 1);
    }

    private void expect(boolean condition, String failure) {
        checks++;
        if (!condition) {
            failures.add(failure);
            System.out.println("FAILED: " + failure);
        }
    }

    // -- db.xml.gz -------------------------------------------------------------------------

    /** Parses db.xml.gz with validation against the DTD it embeds, so element order is checked too. */
    private List<Entry> readIndex() throws Exception {
        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        factory.setValidating(true);
        DocumentBuilder builder = factory.newDocumentBuilder();
        List<String> xmlErrors = new ArrayList<>();
        builder.setErrorHandler(new ErrorHandler() {
            @Override
            public void warning(SAXParseException e) {
                xmlErrors.add("warning: " + e.getMessage());
            }

            @Override
            public void error(SAXParseException e) {
                xmlErrors.add(e.getMessage());
            }

            @Override
            public void fatalError(SAXParseException e) throws SAXParseException {
                throw e;
            }
        });
        Document document;
        try (InputStream in = new GZIPInputStream(Files.newInputStream(site.resolve("db.xml.gz")))) {
            document = builder.parse(in);
        }
        expect(xmlErrors.isEmpty(), "db.xml.gz does not match its DTD: " + xmlErrors);
        expect(document.getDoctype() != null, "db.xml.gz has no DOCTYPE");
        if (document.getDoctype() != null) {
            expect("pluginRecords".equals(document.getDoctype().getName()), "db.xml.gz has the DOCTYPE "
                    + document.getDoctype().getName() + ", not pluginRecords");
        }

        List<Entry> entries = new ArrayList<>();
        NodeList plugins = document.getElementsByTagName("plugin");
        for (int i = 0; i < plugins.getLength(); i++) {
            Element plugin = (Element) plugins.item(i);
            Element version = firstChild(plugin, "version");
            if (version == null) {
                continue; // obsolete file: only previous versions, nothing to download
            }
            Map<String, String> dependencies = new LinkedHashMap<>();
            for (Element dependency : children(version, "dependency")) {
                dependencies.put(dependency.getAttribute("filename"), dependency.getAttribute("timestamp"));
            }
            List<String> platforms = children(plugin, "platform").stream().map(Element::getTextContent).toList();
            entries.add(new Entry(plugin.getAttribute("filename"), version.getAttribute("checksum"),
                    version.getAttribute("timestamp"), Long.parseLong(version.getAttribute("filesize")),
                    platforms, dependencies));
        }
        expect(!entries.isEmpty(), "db.xml.gz lists no file with a current version");
        return entries;
    }

    private static List<Element> children(Element parent, String tag) {
        List<Element> result = new ArrayList<>();
        for (var node = parent.getFirstChild(); node != null; node = node.getNextSibling()) {
            if (node instanceof Element element && element.getTagName().equals(tag)) {
                result.add(element);
            }
        }
        return result;
    }

    private static Element firstChild(Element parent, String tag) {
        List<Element> found = children(parent, tag);
        return found.isEmpty() ? null : found.get(0);
    }

    // -- files -----------------------------------------------------------------------------

    /** Checks each listed file's upload (size, checksum, timestamp, platform folder) and that nothing else is there. */
    private void checkFiles(List<Entry> entries) throws IOException {
        Set<Path> listed = new HashSet<>();
        listed.add(site.resolve("db.xml.gz"));
        for (Entry entry : entries) {
            Path uploaded = entry.uploaded(site);
            listed.add(uploaded);
            expect(isTimestamp(entry.timestamp()), entry.filename() + ": invalid timestamp " + entry.timestamp());
            if (!Files.isRegularFile(uploaded)) {
                expect(false, entry.filename() + ": uploaded file " + uploaded + " is missing");
                continue;
            }
            expect(Files.size(uploaded) == entry.filesize(), entry.filename() + ": filesize " + entry.filesize()
                    + " in db.xml.gz, " + Files.size(uploaded) + " on disk");
            String checksum = checksum(entry.filename(), uploaded);
            expect(checksum.equals(entry.checksum()), entry.filename() + ": checksum " + entry.checksum()
                    + " in db.xml.gz, recomputed " + checksum);
            checkPlatformFolder(entry);
        }
        try (Stream<Path> files = Files.walk(site)) {
            List<Path> unlisted = files.filter(Files::isRegularFile).filter(file -> !listed.contains(file)).toList();
            expect(unlisted.isEmpty(), "files in the site that db.xml.gz does not list: " + unlisted);
        }
    }

    /** Checks that a file is under jars/PLATFORM/ exactly when it carries the PLATFORM tag. */
    private void checkPlatformFolder(Entry entry) {
        String[] parts = entry.filename().split("/");
        String folder = parts.length == 3 ? parts[1] : null;
        if (entry.platforms().isEmpty()) {
            expect(folder == null || !PLATFORMS.contains(folder),
                    entry.filename() + ": in a platform folder but has no platform tag");
            return;
        }
        expect(entry.platforms().size() == 1, entry.filename() + ": several platform tags " + entry.platforms());
        expect(entry.platforms().get(0).equals(folder),
                entry.filename() + ": platform tag " + entry.platforms().get(0) + " does not match its folder");
        expect(PLATFORMS.contains(folder), entry.filename() + ": unknown platform " + folder);
    }

    private static boolean isTimestamp(String value) {
        if (!value.matches("\\d{14}")) {
            return false;
        }
        SimpleDateFormat format = new SimpleDateFormat("yyyyMMddHHmmss");
        format.setLenient(false);
        try {
            format.parse(value);
            return true;
        } catch (ParseException e) {
            return false;
        }
    }

    /** Checks that each dependency names a listed file without its version, with that file's timestamp. */
    private void checkDependencies(List<Entry> entries) {
        Map<String, Entry> byUnversioned = new LinkedHashMap<>();
        for (Entry entry : entries) {
            byUnversioned.put(FileUtils.stripFilenameVersion(entry.filename()), entry);
        }
        for (Entry entry : entries) {
            for (Map.Entry<String, String> dependency : entry.dependencies().entrySet()) {
                Entry target = byUnversioned.get(dependency.getKey());
                expect(target != null, entry.filename() + ": dependency " + dependency.getKey()
                        + " is not a file of the site (without its version)");
                if (target != null) {
                    expect(target.timestamp().equals(dependency.getValue()), entry.filename() + ": dependency "
                            + dependency.getKey() + " has timestamp " + dependency.getValue() + ", the file "
                            + target.timestamp());
                }
            }
        }
    }

    /**
     * Checks that exactly one jar contains the command, that it is in jars/ (found by SciJava
     * through its plugin index, not scanned by ImageJ 1.x, which reads only plugins/), and that
     * the other jars are its dependencies.
     */
    private void checkPluginJar(List<Entry> entries) throws IOException {
        List<Entry> withCommand = new ArrayList<>();
        for (Entry entry : entries) {
            expect(!entry.filename().startsWith("plugins/"), entry.filename() + ": ImageJ 1.x would scan it");
            try (ZipFile jar = new ZipFile(entry.uploaded(site).toFile())) {
                if (jar.getEntry(COMMAND_CLASS.replace('.', '/') + ".class") != null) {
                    withCommand.add(entry);
                }
            }
        }
        expect(withCommand.size() == 1, "expected one jar with " + COMMAND_CLASS + ", found " + withCommand);
        if (withCommand.size() != 1) {
            return;
        }
        Entry plugin = withCommand.get(0);
        expect(plugin.filename().matches("jars/[^/]+\\.jar"), plugin.filename() + ": the plugin jar belongs in jars/");
        try (ZipFile jar = new ZipFile(plugin.uploaded(site).toFile())) {
            ZipEntry index = jar.getEntry(PLUGIN_INDEX);
            expect(index != null, plugin.filename() + ": no SciJava plugin index " + PLUGIN_INDEX);
            if (index != null) {
                String json = new String(jar.getInputStream(index).readAllBytes(), StandardCharsets.UTF_8);
                expect(json.contains("\"" + COMMAND_CLASS + "\""), plugin.filename() + ": " + PLUGIN_INDEX
                        + " does not list " + COMMAND_CLASS);
            }
        }
        Set<String> others = entries.stream().filter(entry -> entry != plugin)
                .map(entry -> FileUtils.stripFilenameVersion(entry.filename())).collect(Collectors.toSet());
        expect(plugin.dependencies().keySet().equals(others), plugin.filename() + ": dependencies "
                + plugin.dependencies().keySet() + " are not the other files of the site " + others);
    }

    /** Checks that no jar of the site is one that Fiji already ships. */
    private void checkNoFijiJars(List<Entry> entries, Path fijiJarsList) throws IOException {
        Set<String> fijiArtifacts = new HashSet<>(CORE_FIJI_JARS);
        for (String line : Files.readAllLines(fijiJarsList)) {
            String content = line.replaceFirst("#.*", "").trim();
            if (!content.isEmpty()) {
                String key = content.split("\\s+")[0];
                fijiArtifacts.add(key.substring(key.indexOf(':') + 1));
            }
        }
        for (Entry entry : entries) {
            String unversioned = FileUtils.stripFilenameVersion(entry.filename());
            String artifact = unversioned.substring(unversioned.lastIndexOf('/') + 1).replaceFirst("\\.jar$", "");
            expect(!fijiArtifacts.contains(artifact), entry.filename() + ": Fiji ships " + artifact + " already");
        }
    }

    // -- install ---------------------------------------------------------------------------

    /**
     * Copies each file for {@code platform} from its uploaded name to its path under {@code fiji},
     * as the updater does after downloading {@code <url><path>-<timestamp>}, and checks the copy.
     */
    private void install(List<Entry> entries, Path fiji, String platform) throws IOException {
        for (Entry entry : entries) {
            if (!entry.platforms().isEmpty() && !entry.platforms().contains(platform)) {
                continue;
            }
            Path target = fiji.resolve(entry.filename());
            Files.createDirectories(target.getParent());
            Files.copy(entry.uploaded(site), target, StandardCopyOption.REPLACE_EXISTING);
            expect(checksum(entry.filename(), target).equals(entry.checksum()),
                    "installed " + target + " does not have the listed checksum");
            System.out.println("installed " + entry.filename());
        }
    }

    // -- the updater's checksums -----------------------------------------------------------

    /** Returns the updater's SHA-1 of a file: for jars over the entries, else over path and content. */
    static String checksum(String sitePath, Path file) throws IOException {
        MessageDigest sha1 = sha1();
        if (sitePath.endsWith(".jar")) {
            updateWithJar(sha1, file);
        } else {
            sha1.update(sitePath.getBytes(StandardCharsets.US_ASCII));
            sha1.update(Files.readAllBytes(file));
        }
        return HexFormat.of().formatHex(sha1.digest());
    }

    /**
     * Adds the jar's entries in name order: each name, then the content, where a manifest adds
     * nothing and a .properties file loses its comment lines (see {@link #withoutComments}).
     */
    private static void updateWithJar(MessageDigest sha1, Path file) throws IOException {
        try (ZipFile jar = new ZipFile(file.toFile())) {
            List<ZipEntry> sorted = new ArrayList<>(Collections.list(jar.entries()));
            sorted.sort((a, b) -> a.getName().compareTo(b.getName()));
            byte[] buffer = new byte[1 << 20];
            for (ZipEntry entry : sorted) {
                sha1.update(entry.getName().getBytes(StandardCharsets.US_ASCII));
                if (entry.getName().equals(MANIFEST)) {
                    continue;
                }
                try (InputStream in = jar.getInputStream(entry)) {
                    if (entry.getName().endsWith(".properties")) {
                        sha1.update(withoutComments(in.readAllBytes()));
                        continue;
                    }
                    for (int n; (n = in.read(buffer)) > 0; ) {
                        sha1.update(buffer, 0, n);
                    }
                }
            }
        }
    }

    /**
     * Returns .properties content without the text of lines starting with '#', but with their
     * newline. As in the updater's filter, a '#' at the start of the line after a blank line or
     * after a line of just "#" is treated as mid-line, so that line is kept.
     */
    static byte[] withoutComments(byte[] content) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(content.length);
        boolean lineStart = true;
        boolean inComment = false;
        for (byte b : content) {
            if (inComment) {
                // Inside a comment, a newline ends it and is kept, and the flag toggles as in the updater.
                if (b == '\n') {
                    out.write(b);
                    lineStart = !lineStart;
                    inComment = false;
                } else if (lineStart && b != '#') {
                    lineStart = false;
                }
                continue;
            }
            if (lineStart && b == '#') {
                inComment = true;
                continue;
            }
            out.write(b);
            // A line start that is not a comment ends the line start, even a blank line's newline.
            lineStart = !lineStart && b == '\n';
        }
        return out.toByteArray();
    }

    private static MessageDigest sha1() {
        try {
            return MessageDigest.getInstance("SHA-1");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("This JVM has no SHA-1", e);
        }
    }
}
