import Logging
import Synchronization

/// Logs, once per service root and process, that the worker's Launchpad credentials were
/// withheld from a root named by workflow input (see `LaunchpadAccessPolicy`).
enum CredentialNotice {
    private static let noticed = Mutex<Set<String>>([])

    static func logOnce(_ message: String, root: String, logger: Logger) {
        guard noticed.withLock({ $0.insert(root).inserted }) else { return }
        logger.warning("\(message)")
    }
}
