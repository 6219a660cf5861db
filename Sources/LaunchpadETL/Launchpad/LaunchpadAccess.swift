/// Who an extraction read Launchpad as, recorded with each loaded window
/// (`LoadedWindow.access`): a re-read of a window removes stored events it no longer finds
/// only when it saw at least what the reads that stored them saw (`StaleEvents`).
///
/// The values are `anonymous`, `oauth:<16 hex digits>` (a digest of the consumer key and access
/// token: never a secret, and the same for every worker configured with the same token), and
/// `mixed` (attempts of one extraction read as different readers, or an older worker's attempt
/// that kept no record did).
public enum LaunchpadAccess {
    /// Public data only: no credentials, or credentials withheld from the service root.
    public static let anonymous = "anonymous"
    /// Attempts of one extraction read as different readers (or one of them is unknown).
    public static let mixed = "mixed"

    /// The reader a client configured with `configuration` reads as.
    public static func reader(of configuration: LaunchpadClientConfiguration) -> String {
        guard configuration.credentialsWithheld == nil,
            case .oauth(let consumerKey, _, let token, _) = configuration.credentials
        else { return anonymous }
        return "oauth:" + SHA256.hex(consumerKey + "\u{1F}" + token).prefix(16)
    }

    /// The reader of an extraction whose attempts read as `readers`: the one they all read as,
    /// else `mixed` (also for none).
    public static func combining(_ readers: [String]) -> String {
        Set(readers).count == 1 ? readers[0] : mixed
    }
}
