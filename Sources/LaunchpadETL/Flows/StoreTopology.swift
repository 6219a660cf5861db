public import Foundation
public import Logging
public import Temporal

/// Makes a split event store visible: workers name their store (and machine) in their Temporal
/// identity (`pid@host store=<id> machine=<boot id>`), and each worker looks at the pollers of
/// its flow queues and warns once for every other store it sees there, and for its own SQLite
/// store served from another machine.
///
/// Flows stay correct either way (transform and load follow the store, see `StoreRouting`),
/// but with several stores on one queue each flow's events land in whichever store its
/// extract ran on: the data of a team ends up split over several SQLite files.
public enum StoreTopology {
    /// The worker identity naming `store`: `<base> store=<short id> machine=<boot id>`: with the kernel's boot id (`machine`) when
    /// there is one, which containers of one host share and another machine (a cloned one too)
    /// does not.
    public static func workerIdentity(_ base: String, store: StoreIdentity, machine: String? = StoreTopology.machine) -> String {
        "\(base) store=\(store.shortId)" + (machine.map { " machine=\($0)" } ?? "")
    }

    /// This machine's kernel boot id, shortened (`/proc/sys/kernel/random/boot_id`); nil where
    /// there is none.
    public static let machine: String? = {
        guard let text = try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8) else { return nil }
        let hex = text.filter(\.isHexDigit).lowercased()
        return hex.count >= 16 ? String(hex.prefix(16)) : nil
    }()

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

    /// The machine a worker identity names (` machine=<boot id>`), if any (workers of earlier
    /// releases name none).
    public static func machine(inIdentity identity: String) -> String? {
        guard let range = identity.range(of: " machine=") else { return nil }
        let id = identity[range.upperBound...].prefix(while: { $0.isHexDigit })
        return id.isEmpty ? nil : String(id)
    }

    /// For a store one machine's workers serve (SQLite: `isShared` false), the pollers on other
    /// machines that name it: a copy of its file (a restored backup, a cloned machine) holds its
    /// id, and so does the same file on a network file system. Each gets this store's transforms
    /// and loads (`StoreRouting` names the queue after the id), and finds another file's staging.
    /// Machines are told by their kernel's boot id, not their host name: containers of one host
    /// sharing a volume (each with its own host name) share one file rightly.
    public static func otherMachines(_ pollers: [TaskQueuePoller], own: StoreIdentity, machine: String) -> [String] {
        guard !own.isShared else { return [] }
        return pollers.map(\.identity).filter {
            store(inIdentity: $0) == own.shortId && self.machine(inIdentity: $0).map { $0 != machine } == true
        }
    }

    /// The pollers seen polling since an earlier look: a poller the server lists is counted only
    /// once its last access moved on (the server keeps a gone worker listed for a few minutes,
    /// this machine's own before a reboot included, whose boot id was another). The server's
    /// times only are compared, never this machine's clock.
    public struct Sightings: Sendable {
        private var lastAccess: [String: Date?] = [:]

        public init() {}

        /// Records `pollers`; returns the identities among them whose last access moved since
        /// the previous call (without a time from the server: seen twice).
        public mutating func stillPolling(_ pollers: [TaskQueuePoller]) -> Set<String> {
            var moving: Set<String> = []
            for poller in pollers {
                if let earlier = lastAccess[poller.identity] {
                    switch (earlier, poller.lastAccessTime) {
                    case (let before?, let now?) where now > before: moving.insert(poller.identity)
                    case (nil, nil): moving.insert(poller.identity)
                    default: break
                    }
                }
                lastAccess[poller.identity] = poller.lastAccessTime
            }
            return moving
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
        var warned: Set<String> = []
        var sightings: [String: Sightings] = [:]
        var delay = firstCheck
        while !Task.isCancelled {
            do { try await Task.sleep(for: delay) } catch { return }
            delay = period
            for queue in queues {
                guard let pollers = try? await client.taskQueuePollers(queue, type: .activity) else { continue }
                let polling = sightings[queue, default: Sightings()].stillPolling(pollers)
                if let machine = Self.machine {
                    // Once per other machine (a restarted worker there has another pid), and only
                    // a worker still polling (not this machine's own before a reboot).
                    func key(_ identity: String) -> String { "machine " + (Self.machine(inIdentity: identity) ?? "") }
                    let elsewhere = otherMachines(pollers.filter { polling.contains($0.identity) }, own: store, machine: machine).filter {
                        !warned.contains(key($0))
                    }
                    if !elsewhere.isEmpty {
                        warned.formUnion(elsewhere.map(key))
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
