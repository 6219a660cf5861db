import Foundation
import LaunchpadETL
import Temporal
import Testing

/// What a worker sees of the stores behind its flow queues, from the pollers' identities.
@Suite struct StoreTopologyTests {
    static let sqlite = StoreIdentity(id: "0123456789abcdef", location: "sqlite:///var/lib/etl/events.db", isShared: false)

    static func poller(_ identity: String) -> TaskQueuePoller { TaskQueuePoller(identity: identity, lastAccessTime: nil) }

    @Test func identitiesNameTheirStoreAndMachine() {
        let identity = StoreTopology.workerIdentity("4242@etl-a.example", store: Self.sqlite, machine: "a1b2c3d4e5f60718")
        #expect(identity == "4242@etl-a.example store=01234567 machine=a1b2c3d4e5f60718")
        #expect(StoreTopology.store(inIdentity: identity) == "01234567")
        #expect(StoreTopology.machine(inIdentity: identity) == "a1b2c3d4e5f60718")
        #expect(StoreTopology.machine(inIdentity: "4242@etl-a.example store=01234567") == nil)
        #expect(StoreTopology.workerIdentity("1@h", store: Self.sqlite, machine: nil) == "1@h store=01234567")
        #if os(Linux)
        #expect(StoreTopology.machine?.count == 16, "a Linux machine has a boot id")
        #endif
    }

    /// Workers on another machine naming this SQLite store (a copy of its file, holding its id,
    /// or the file on a network file system) are seen: they took its transforms and loads with
    /// nothing said, since their store id is this one's. Machines are told by their kernel's boot
    /// id: containers of this machine (other host names) sharing the file are not flagged, nor
    /// workers of earlier releases (no machine named), nor a PostgreSQL store (shared by design).
    @Test func aSQLiteStoreServedFromAnotherMachineIsSeen() {
        let here = "aaaaaaaaaaaaaaaa"
        let pollers = [
            "1@etl-a.example store=01234567 machine=\(here)", "2@container-7f3e store=01234567 machine=\(here)",
            "3@etl-a.example store=01234567 machine=bbbbbbbbbbbbbbbb", "4@old-release store=01234567",
            "5@etl-c.example store=fedcba98 machine=cccccccccccccccc",
        ].map(Self.poller)
        #expect(
            StoreTopology.otherMachines(pollers, own: Self.sqlite, machine: here) == [
                "3@etl-a.example store=01234567 machine=bbbbbbbbbbbbbbbb"
            ])
        #expect(StoreTopology.otherStores(pollers, own: Self.sqlite).keys.sorted() == ["fedcba98"])
        let postgres = StoreIdentity(id: Self.sqlite.id, location: "postgresql://db/etl", isShared: true)
        #expect(StoreTopology.otherMachines(pollers, own: postgres, machine: here).isEmpty)
        let warning = StoreTopology.otherMachinesWarning(
            queue: "launchpad", own: Self.sqlite, identities: ["3@etl-b.example store=01234567"])
        #expect(warning.contains("3@etl-b.example") && warning.contains("copy of this file"), "\(warning)")
    }

    /// A poller counts once the server saw it poll again: this machine's own workers before a
    /// reboot (another boot id) stay listed for a few minutes, and never poll again.
    @Test func onlyPollersStillPollingCount() {
        var sightings = StoreTopology.Sightings()
        let t0 = Date(timeIntervalSince1970: 1_000_000)
        let gone = TaskQueuePoller(identity: "9@etl-a store=01234567 machine=dddddddddddddddd", lastAccessTime: t0)
        let live = TaskQueuePoller(identity: "3@etl-b store=01234567 machine=bbbbbbbbbbbbbbbb", lastAccessTime: t0)
        let undated = TaskQueuePoller(identity: "4@etl-c store=01234567 machine=cccccccccccccccc", lastAccessTime: nil)
        #expect(sightings.stillPolling([gone, live, undated]).isEmpty, "first sight: nothing yet")
        var later = live
        later.lastAccessTime = t0.addingTimeInterval(30)
        #expect(sightings.stillPolling([gone, later, undated]) == [later.identity, undated.identity])
    }
}
