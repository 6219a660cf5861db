import Foundation
public import Logging
public import Temporal

/// Makes a split event store visible: workers name their store in their Temporal identity
/// (`pid@host store=<id>`), and each worker looks at the pollers of its flow queues and warns
/// once for every other store it sees there.
///
/// Flows stay correct either way (transform and load follow the store, see `StoreRouting`),
/// but with several stores on one queue each flow's events land in whichever store its
/// extract ran on: the data of a team ends up split over several SQLite files.
public enum StoreTopology {
    /// The worker identity naming `store`: `<base> store=<short id>`.
    public static func workerIdentity(_ base: String, store: StoreIdentity) -> String {
        "\(base) store=\(store.shortId)"
    }

    /// The store short id a worker identity names, if any.
    public static func store(inIdentity identity: String) -> String? {
        guard let range = identity.range(of: " store=") else { return nil }
        let id = identity[range.upperBound...].prefix(while: { $0.isHexDigit })
        return id.isEmpty ? nil : String(id)
    }

    /// The pollers that name a store other than `own`, grouped by store short id.
    public static func otherStores(_ pollers: [TaskQueuePoller], own: StoreIdentity) -> [String: [String]] {
        var result: [String: [String]] = [:]
        for poller in pollers {
            guard let id = store(inIdentity: poller.identity), id != own.shortId else { continue }
            result[id, default: []].append(poller.identity)
        }
        return result
    }

    /// The host a worker identity names (`<pid>@<host>`, before any ` store=`), if any.
    public static func host(inIdentity identity: String) -> String? {
        let base = identity.range(of: " store=").map { identity[..<$0.lowerBound] } ?? Substring(identity)
        guard let at = base.firstIndex(of: "@") else { return nil }
        let host = base[base.index(after: at)...]
        return host.isEmpty ? nil : String(host)
    }

    /// For a store one machine's workers serve (SQLite: `isShared` false), the pollers on other
    /// hosts that name it: a copy of its file (a restored backup, a cloned VM) holds its id, and
    /// so does the same file on a network file system. Each gets this store's transforms and
    /// loads (`StoreRouting` names the queue after the id), and finds another file's staging.
    public static func otherMachines(_ pollers: [TaskQueuePoller], own: StoreIdentity, host: String) -> [String] {
        guard !own.isShared else { return [] }
        return pollers.map(\.identity).filter {
            store(inIdentity: $0) == own.shortId && self.host(inIdentity: $0).map { $0 != host } == true
        }
    }

    /// The warning for workers of this SQLite store seen on other machines.
    public static func otherMachinesWarning(queue: String, own: StoreIdentity, identities: [String]) -> String {
        "task queue '\(queue)' is also served by workers on other machines that name this SQLite store (\(own)): "
            + "\(identities.sorted().joined(separator: ", ")). A SQLite file is served by one machine's workers: that is a "
            + "copy of this file (a restored backup, a cloned machine: it holds this file's id) or this file on a network file "
            + "system, and each flow's transform and load may reach the wrong file. Give the other machine's workers a new file, "
            + "or share one PostgreSQL store (ETL_DB_URL / --db-url)."
    }

    /// The warning for workers of other stores seen on `queue`.
    public static func warning(queue: String, own: StoreIdentity, others: [String: [String]]) -> String {
        let seen = others.keys.sorted().map { "store \($0) (\(others[$0]!.sorted().joined(separator: ", ")))" }.joined(separator: "; ")
        return "task queue '\(queue)' is also served by workers with another event store: \(seen). This worker writes to \(own). "
            + "Each flow's events land in the store of the worker that extracted them, so the data is split between stores. "
            + "Workers on several machines should share one PostgreSQL store (ETL_DB_URL / --db-url); SQLite suits workers on one machine sharing one file."
    }

    /// Checks `queues` now, then every `period`, until cancelled; warns once per other store.
    public static func watch(
        client: TemporalClient, queues: [String], store: StoreIdentity, logger: Logger,
        firstCheck: Duration = .seconds(3), period: Duration = .seconds(60)
    ) async {
        let host = Self.host(inIdentity: client.identity)
        var warned: Set<String> = []
        var delay = firstCheck
        while !Task.isCancelled {
            do { try await Task.sleep(for: delay) } catch { return }
            delay = period
            for queue in queues {
                guard let pollers = try? await client.taskQueuePollers(queue, type: .activity) else { continue }
                if let host {
                    let elsewhere = otherMachines(pollers, own: store, host: host).filter { !warned.contains($0) }
                    if !elsewhere.isEmpty {
                        warned.formUnion(elsewhere)
                        logger.error("\(otherMachinesWarning(queue: queue, own: store, identities: elsewhere))")
                    }
                }
                let others = otherStores(pollers, own: store).filter { !warned.contains($0.key) }
                guard !others.isEmpty else { continue }
                warned.formUnion(others.keys)
                logger.warning("\(warning(queue: queue, own: store, others: others))")
            }
        }
    }
}
