import Foundation
import LaunchpadETL
import Temporal
import Testing

/// What a worker sees of the stores behind its flow queues, from the pollers' identities.
@Suite struct StoreTopologyTests {
    static let sqlite = StoreIdentity(id: "0123456789abcdef", location: "sqlite:///var/lib/etl/events.db", isShared: false)

    static func poller(_ identity: String) -> TaskQueuePoller { TaskQueuePoller(identity: identity, lastAccessTime: nil) }

    @Test func identitiesNameTheirHostAndStore() {
        let identity = StoreTopology.workerIdentity("4242@etl-a.example", store: Self.sqlite)
        #expect(identity == "4242@etl-a.example store=01234567")
        #expect(StoreTopology.host(inIdentity: identity) == "etl-a.example")
        #expect(StoreTopology.store(inIdentity: identity) == "01234567")
        #expect(StoreTopology.host(inIdentity: "no-host") == nil)
    }

    /// Workers on another machine naming this SQLite store (a copy of its file, holding its id,
    /// or the file on a network file system) are seen: they took its transforms and loads with
    /// nothing said, since their store id is this one's. Not for PostgreSQL, shared by design,
    /// nor for this machine's own other workers.
    @Test func aSQLiteStoreServedFromAnotherMachineIsSeen() {
        let pollers = [
            "1@etl-a.example store=01234567", "2@etl-a.example store=01234567", "3@etl-b.example store=01234567",
            "4@etl-c.example store=fedcba98",
        ].map(Self.poller)
        #expect(StoreTopology.otherMachines(pollers, own: Self.sqlite, host: "etl-a.example") == ["3@etl-b.example store=01234567"])
        #expect(StoreTopology.otherStores(pollers, own: Self.sqlite).keys.sorted() == ["fedcba98"])
        let postgres = StoreIdentity(id: Self.sqlite.id, location: "postgresql://db/etl", isShared: true)
        #expect(StoreTopology.otherMachines(pollers, own: postgres, host: "etl-a.example").isEmpty)
        let warning = StoreTopology.otherMachinesWarning(
            queue: "launchpad", own: Self.sqlite, identities: ["3@etl-b.example store=01234567"])
        #expect(warning.contains("3@etl-b.example") && warning.contains("copy of this file"), "\(warning)")
    }
}
