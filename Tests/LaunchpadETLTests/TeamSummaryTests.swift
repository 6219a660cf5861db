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
}
