import Foundation
import Logging
import Temporal
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
        #expect(TeamLaunchpadFlow.splitStoresNote(Self.byStore(["alice": "aaaa1111", "bob": "aaaa1111"])) == nil)
        let note = try #require(
            TeamLaunchpadFlow.splitStoresNote(Self.byStore(["alice": "aaaa1111", "bob": "bbbb2222", "carol": "aaaa1111"])))
        #expect(note.contains("2 event stores (store aaaa1111: alice, carol; store bbbb2222: bob)"), "\(note)")
        #expect(note.contains("PostgreSQL"))
        #expect(StoreRouting.storeShortID(ofQueue: "launchpad-task-queue@store-0123456789abcdef") == "01234567")
        #expect(StoreRouting.storeShortID(ofQueue: "launchpad-task-queue") == nil)
    }

    /// Member → store as the tally keeps it: store → members.
    static func byStore(_ stores: [String: String]) -> [String: NoteList] {
        var byStore: [String: NoteList] = [:]
        for (member, store) in stores.sorted(by: { $0.key < $1.key }) { byStore[store, default: NoteList()].append(member) }
        return byStore
    }

    /// A team's chain of runs (`TeamContinuation`) sums its members as one run would: the same
    /// result and the same failure, whichever run each member ran in, and the tally it carries
    /// stays small however many members failed (each run's input is bounded by the server's
    /// 2 MiB payload limit).
    @Test func aTallyCarriedFromRunToRunSaysWhatOneRunWould() throws {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let members = (0..<5_000).map { "member-\($0)" }
        func outcome(_ index: Int) -> Result<FlowResult, ApplicationError> {
            switch index % 5 {
            case 0: return .failure(ApplicationError("timed out " + String(repeating: "x", count: 200), type: "ActivityTimedOut"))
            case 1: return .failure(ApplicationError("gone", type: ETLError.Code.memberGone.rawValue))
            default:
                var summary = [FlowResult.storeKey: index % 2 == 0 ? "aaaa1111" : "bbbb2222", FlowResult.accessKey: "anonymous"]
                if index % 7 == 0 { summary[FlowResult.skippedKey] = "bug 1: 404 " + String(repeating: "y", count: 100) }
                return .success(FlowResult(summary: summary, workflowId: "w", itemsProcessed: index, itemsInserted: 1))
            }
        }
        var whole = TeamTally()
        for (index, member) in members.enumerated() { whole.add(member, outcome(index), logger: logger) }
        var chained = TeamTally()
        var largest = 0
        for chunk in stride(from: 0, to: members.count, by: 450) {
            for index in chunk..<min(chunk + 450, members.count) { chained.add(members[index], outcome(index), logger: logger) }
            let next = TeamContinuation(
                windowStart: "2024-03-01", windowEnd: "2024-03-31", members: Array(members.dropFirst(chunk + 450)), total: members.count,
                hidden: ["~t lists 1 of its 2 members"], periods: [:], creditTeam: true, catchUp: nil, tally: chained, runs: 1)
            let input = try next.attached(to: ["team": "t", "data_date_start": "2024-03-01", "data_date_end": "2024-03-31"])
            let size = input.serialized().utf8.count
            largest = max(largest, size)
            let (plain, carried) = try TeamContinuation.split(input)
            #expect(plain.objectValue?[TeamContinuation.key] == nil)
            #expect(carried == next)
            chained = try #require(carried).tally
        }
        #expect(chained == whole)
        #expect(whole.failures.count == 1_000 && whole.skipped.count == 1_000)
        #expect(largest < 400_000, "\(largest) bytes")
        let result = whole.result(
            base: [:], team: "t", total: members.count, hidden: ["~t lists 1 of its 2 members"], workflowID: "w", logger: logger)
        #expect(result.itemsInserted == 3_000)
        #expect(result.summary[FlowResult.skippedKey]?.hasPrefix("team roster: ~t lists 1 of its 2 members; member-7: bug 1: 404") == true)
        #expect(result.summary[FlowResult.skippedKey]?.hasSuffix("more (each member's own run says)") == true)
        #expect(result.summary[FlowResult.accessKey] == FlowResult.anonymousAccess + ", 3000 of the members")
        let failures = whole.failures.joined(separator: "; ")
        let shown = failures.components(separatedBy: "; member-").count
        #expect(failures.hasSuffix("… and \(1_000 - shown) more (each member's own run says)"), "\(failures.suffix(80))")
        let stores = try #require(result.summary[FlowResult.splitStoresKey])
        #expect(
            stores.hasPrefix("the members' events went to 2 event stores (store aaaa1111: member-1002, member-1004"),
            "\(stores.prefix(120))")
    }

    /// A scheduled team run's catch-up (window moved, mark, days left unread) goes along the
    /// chain as it was planned: the last run's result records it.
    @Test func aScheduledRunsCatchUpGoesAlongTheChain() throws {
        let plan = ScheduleCatchUp(
            window: ("2024-02-20", "2024-03-10"), readThrough: "2024-03-10", previousMark: "2024-02-19", previousReread: true,
            note: "caught up", unread: nil, enabled: true)
        let next = TeamContinuation(
            windowStart: "2024-02-20", windowEnd: "2024-03-10", members: ["b"], total: 2, hidden: [],
            periods: ["b": .init(first: "2024-02-20", last: "2024-03-01")], creditTeam: false, catchUp: plan, tally: TeamTally(), runs: 3)
        let carried = try #require(try TeamContinuation.split(try next.attached(to: ["team": "t", "period": "weekly"])).continuation)
        #expect(carried == next)
        let result = FlowResult(summary: [:], workflowId: "w", itemsProcessed: 0, itemsInserted: 0)
        #expect(try #require(carried.catchUp).annotate(result).summary == plan.annotate(result).summary)
    }

    /// A tally missing fields (one a release before a field was added carried) reads them as
    /// none: the chain goes on. A required field failed the chain's next run (`InvalidQuery`).
    @Test func aTallyWithoutNewerFieldsStillReads() throws {
        var tally = TeamTally()
        tally.add("a", .success(FlowResult(summary: [:], workflowId: "w", itemsProcessed: 4, itemsInserted: 2)), logger: .init(label: "t"))
        var fields = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(tally)).objectValue ?? [:]
        for newer in ["reread", "superseded", "stores", "teamProjectsLeft", "anonymous"] {
            #expect(fields.removeValue(forKey: newer) != nil)
        }
        let read = try JSONDecoder().decode(TeamTally.self, from: Data(JSONValue.object(fields).serialized().utf8))
        #expect(read == tally)
        #expect(try JSONDecoder().decode(TeamTally.self, from: Data("{}".utf8)) == TeamTally())
    }

    /// A member's own `split_stores` (a load left behind in another store) reaches the team's
    /// result; it was dropped there.
    @Test func aMembersSplitStoresNoteReachesTheTeam() {
        var tally = TeamTally()
        let summary = [FlowResult.storeKey: "bbbb2222", FlowResult.splitStoresKey: "a load of this run was begun in store aaaa1111"]
        tally.add(
            "a", .success(FlowResult(summary: summary, workflowId: "w", itemsProcessed: 1, itemsInserted: 1)), logger: .init(label: "t"))
        let result = tally.result(base: [:], team: "t", total: 1, hidden: [], workflowID: "w", logger: .init(label: "t"))
        #expect(result.summary[FlowResult.splitStoresKey] == "a: a load of this run was begun in store aaaa1111", "\(result.summary)")
    }

    /// A continuation a team run did not write is refused, saying so.
    @Test func aContinuationTheFlowDidNotWriteIsRefused() {
        #expect(throws: ETLError.self) {
            try TeamContinuation.split(["team": "t", TeamContinuation.key: ["members": 3]])
        }
        #expect((try? TeamContinuation.split(["team": "t"]))?.continuation == nil)
    }
}
