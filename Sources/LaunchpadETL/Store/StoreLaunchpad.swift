/// One event store holds the events of one Launchpad. Event ids are that Launchpad's own
/// numbers (`b-2100000-c`, `mp-462815-…`): staging, qastaging and dogfood are copies of
/// production whose new bugs and proposals get numbers production gives to others, and the
/// fixture uses real-looking numbers, so events of two Launchpads in one store would overwrite
/// each other. The first load that names its Launchpad binds the store to it (table
/// `store_launchpad`); an extraction or load from another is refused before it writes.
public enum StoreLaunchpad {
    /// The name a store is bound to: the service root's URL with its scheme and host in lower
    /// case and without the scheme's default port (`https://api.launchpad.net/`), or `local`
    /// for any loopback root (the fixture server, whatever its port: a tunnel to a real
    /// Launchpad on loopback counts as local too).
    public static func key(_ root: ServiceRoot) -> String {
        guard !root.isLoopback else { return "local" }
        let url = root.url
        guard let schemeEnd = url.firstRange(of: "://") else { return url }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        let rest = url[schemeEnd.upperBound...]
        let authority = rest.prefix { $0 != "/" }
        var host = authority.lowercased()
        for port in [":443": "https", ":80": "http"] where scheme == port.value && host.hasSuffix(port.key) {
            host.removeLast(port.key.count)
        }
        return scheme + "://" + host + rest.dropFirst(authority.count)
    }

    /// Refuses `wanted` when the store is bound to another Launchpad (`bound`; nil: not bound).
    static func require(_ wanted: String, boundTo bound: String?, store: StoreIdentity) throws(ETLError) {
        // A binding written before keys were normalised compares by its normal form.
        guard let bound, bound != wanted, (try? ServiceRoot(bound)).map(key) != wanted else { return }
        throw ETLError(
            .storeHoldsAnotherLaunchpad,
            "the event store \(store.location) holds events read from \(describe(bound)), and this run reads \(describe(wanted)); event ids are a Launchpad's own numbers, so the two would overwrite each other's events: give this run a store of its own (--db-path / ETL_DB_PATH, or --db-url / ETL_DB_URL)",
            nonRetryable: true)
    }

    /// How a report names the Launchpad a store's events come from (`bound`: the store's
    /// binding, nil when no load has named one).
    public static func reportLine(_ bound: String?) -> String {
        guard let bound else { return "events of no recorded Launchpad (no load of this release named one)" }
        return "events read from " + describe(bound)
    }

    private static func describe(_ key: String) -> String {
        if key == "local" { return "a local Launchpad (the fixture server)" }
        if let name = ServiceRoot.named.first(where: { $0.value == key })?.key { return "\(key) (\(name))" }
        return key
    }
}
