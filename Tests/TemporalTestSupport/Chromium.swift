import Foundation

/// Headless Chromium for tests that render a page (the Web UI, the report).
public enum Chromium {
    /// The browser's path; nil when neither Debian's `chromium` nor an Ubuntu-style
    /// `chromium-browser` is installed (scripts/test installs it where the distribution packages
    /// it as a deb).
    public static var path: String? {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Why a test that needs the browser was skipped.
    public static let missing = "needs chromium (scripts/test installs it where the distribution has a deb of it)"
}
