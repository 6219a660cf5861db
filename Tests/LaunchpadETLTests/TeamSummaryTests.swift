import Foundation
import Testing

@testable import LaunchpadETL

/// A team run's result and failure hold one note per member, bounded in size.
@Suite struct TeamSummaryTests {
    /// 5,000 members' notes (a big team, or most members failing in an outage) made a result
    /// past the server's 2 MiB payload limit: the run ended with a size error after every load
    /// had committed. The notes are kept up to about 32 KiB, then counted.
    @Test func thousandsOfMembersNotesStayWithinTheirBound() {
        let notes = (0..<5_000).map { "member-\($0): ActivityTimedOut: " + String(repeating: "x", count: 300) }
        let text = TeamLaunchpadFlow.bounded(notes, separator: "; ")
        #expect(text.utf8.count < 33_000)
        #expect(text.hasPrefix("member-0: ActivityTimedOut") && text.contains("member-90:"))
        let shown = text.components(separatedBy: "; member-").count
        #expect(text.hasSuffix("… and \(5_000 - shown) more (each member's own run says)"), "\(text.suffix(80))")
        // Few notes are joined whole, as before.
        #expect(TeamLaunchpadFlow.bounded(["a: x", "b: y"], separator: "; ") == "a: x; b: y")
        #expect(TeamLaunchpadFlow.bounded([String(repeating: "z", count: 40_000)], separator: "; ").count == 40_000)
    }

    /// A team whose members' events went to several stores (workers with SQLite files of their
    /// own on one queue) says so, naming each store's members: the team's run was green while a
    /// report of either file showed only some of its members, and nothing said why.
    @Test func membersSplitOverStoresAreNamed() throws {
        #expect(TeamLaunchpadFlow.splitStoresNote(["alice": "aaaa1111", "bob": "aaaa1111"]) == nil)
        let note = try #require(TeamLaunchpadFlow.splitStoresNote(["alice": "aaaa1111", "bob": "bbbb2222", "carol": "aaaa1111"]))
        #expect(note.contains("2 event stores (store aaaa1111: alice, carol; store bbbb2222: bob)"), "\(note)")
        #expect(note.contains("PostgreSQL"))
        #expect(StoreRouting.storeShortID(ofQueue: "launchpad-task-queue@store-0123456789abcdef") == "01234567")
        #expect(StoreRouting.storeShortID(ofQueue: "launchpad-task-queue") == nil)
    }
}
