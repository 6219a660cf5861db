import Foundation
import Testing

@testable import LaunchpadETL
@testable import LaunchpadFixture

/// The fixture's routing in-process (no HTTP): paging and error shapes as Launchpad's.
@Suite struct FixtureRouterTests {
    let router = FixtureRouter()

    func json(_ path: String, _ query: String = "") throws -> JSONValue {
        let response = router.route(FixtureRequest(path: path, query: query, host: "127.0.0.1:9"))
        #expect(response.status == 200)
        return try JSONParser.parse(response.body)
    }

    /// A merge proposal is served only under its source repository's (or branch's) path, as
    /// Launchpad traverses to it; before, `+merge/<id>` answered under any path, so a proposal
    /// whose source was renamed since its listing still read at its old link.
    @Test func aProposalIsServedOnlyUnderItsSource() throws {
        let proposal = try json("devel/~alice-example/netplan/+git/netplan/+merge/462815")
        #expect(proposal["self_link"]?.stringValue?.hasSuffix("/~alice-example/netplan/+git/netplan/+merge/462815") == true)
        for elsewhere in ["devel/~bob-example/netplan/+git/netplan/+merge/462815", "devel/netplan/+merge/462815"] {
            #expect(router.route(FixtureRequest(path: elsewhere, query: "", host: "127.0.0.1:9")).status == 404, "\(elsewhere)")
        }
    }

    /// `bug_commenter` leaves out only the bug's creation row, as Launchpad's search does: a
    /// subscription (also `whatchanged` "bug") counts. (Before, every "bug" row was left out.)
    @Test func touchedCountsEveryActivityRowButTheCreation() {
        let date = UTCTimestamp(microsecondsSinceEpoch: 0)
        let bug = FixtureWorld.Bug(
            id: 1, title: "t", owner: "a", created: date, tasks: [],
            messages: [.init(owner: "a", date: date, content: "description")],
            activity: [
                .init(person: "a", date: date, whatChanged: "bug", oldValue: nil, newValue: nil, message: "added bug"),
                .init(person: "b", date: date, whatChanged: "bug", oldValue: nil, newValue: nil, message: "added subscriber B"),
            ])
        #expect(!FixtureRouter.touched(bug, by: "a"))
        #expect(FixtureRouter.touched(bug, by: "b"))
    }

    /// `date_last_updated`, which `modified_since` filters on, moves only for the changes
    /// Launchpad's handler runs for (lib/lp/bugs/configure.zcml): a link removed, an
    /// attachment removed, a subscription, a series nomination, a lock or a bug watch removed
    /// does not move it. Before, any row did, so a
    /// member's unlink on a quiet bug was found here and would not be on Launchpad.
    @Test func onlyTheChangesLaunchpadCountsMoveTheLastUpdate() {
        let created = UTCTimestamp(microsecondsSinceEpoch: 0)
        let later = UTCTimestamp(microsecondsSinceEpoch: 86_400_000_000)
        func bug(_ what: String, _ message: String? = nil) -> FixtureWorld.Bug {
            FixtureWorld.Bug(
                id: 1, title: "t", owner: "a", created: created, tasks: [], messages: [],
                activity: [.init(person: "b", date: later, whatChanged: what, oldValue: nil, newValue: nil, message: message)])
        }
        for quiet in [
            bug("cve unlinked"), bug("branch unlinked"), bug("attachment removed"), bug("removed subscriber B"),
            bug("subscriber B"), bug("bug", "added subscriber B"), bug("nominated for series"), bug("lock status"),
            bug("lock reason"), bug("bug watch removed"),
        ] {
            #expect(quiet.lastUpdated == created, "\(quiet.activity[0].whatChanged)")
        }
        for touched in [bug("cve linked"), bug("tags"), bug("netplan: status"), bug("attachment added"), bug("bug watch added")] {
            #expect(touched.lastUpdated == later, "\(touched.activity[0].whatChanged)")
        }
    }

    /// A private team is not found by a reader who may not see it — its entry, members and
    /// proposals answer 404, as Launchpad's traversal does — and a person's `super_teams`
    /// counts it without showing it. Before, the fixture served it, so bob's run searched a
    /// private team's proposals no such reader could list.
    @Test func aPrivateTeamIsNotFoundAndNotListed() throws {
        for (path, query) in [
            ("/devel/~private-squad", ""), ("/devel/~private-squad/members", ""),
            ("/devel/~private-squad", "ws.op=getMergeProposals"),
        ] {
            let response = router.route(FixtureRequest(path: path, query: query, host: "127.0.0.1:9"))
            #expect(response.status == 404, "\(path)?\(query)")
        }
        let teams = try json("/devel/~bob-example/super_teams")
        let names = teams["entries"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
        #expect(!names.contains("private-squad") && names.contains("mixed-team"), "\(names)")
        #expect(teams["total_size"]?.intValue == names.count + 1, "counted, not shown")
    }

    @Test func pagesCarryLinksAndSizesLikeDevel() throws {
        let first = try json("/devel/bugs/3100000/messages", "ws.size=300")
        #expect(first["entries"]?.arrayValue?.count == 300)
        #expect(first["total_size"]?.intValue == 321)  // plain sub-collections: always inline
        #expect(
            first["next_collection_link"]?.stringValue == "http://127.0.0.1:9/devel/bugs/3100000/messages?ws.size=300&memo=300&ws.start=300"
        )
        #expect(first["resource_type_link"]?.stringValue?.hasSuffix("#message-page-resource") == true)
        let last = try json("/devel/bugs/3100000/messages", "ws.size=300&memo=300&ws.start=300")
        #expect(last["entries"]?.arrayValue?.count == 21)
        #expect(last["next_collection_link"] == nil)
        #expect(last["prev_collection_link"]?.stringValue?.contains("direction=backwards") == true)

        let op = "ws.op=getMergeProposals&status=%5B%22Needs+review%22%5D&ws.size=5"
        let named = try json("/devel/~carol-busy", op)
        #expect(named["total_size"] == nil)
        let sizeLink = try #require(named["total_size_link"]?.stringValue)
        #expect(sizeLink.hasSuffix("ws.show=total_size"))
        #expect(try json("/devel/~carol-busy", "ws.op=getMergeProposals&status=%5B%22Needs+review%22%5D&ws.show=total_size") == .int(12))
    }

    /// Launchpad cuts a batch at `memo` and only numbers it by `ws.start`: a client that moved
    /// one without the other reads other rows than it thinks (as on Launchpad).
    @Test func memoDecidesWhereABatchStarts() throws {
        let all = try #require(try json("/devel/bugs/3100000/messages", "ws.size=10")["entries"]?.arrayValue)
        let page = try json("/devel/bugs/3100000/messages", "ws.size=2&memo=5&ws.start=0")
        #expect(page["start"]?.intValue == 0)
        #expect(page["entries"]?.arrayValue == Array(all[5..<7]))
        #expect(page["next_collection_link"]?.stringValue?.hasSuffix("ws.size=2&memo=7&ws.start=2") == true)
    }

    @Test func defaultsHideWhatTheOriginalMissed() throws {
        let person = "%22http%3A%2F%2F127.0.0.1%3A9%2Fdevel%2F~alice-example%22"
        let defaults = try json("/devel/bugs", "ws.op=searchTasks&bug_commenter=\(person)")
        #expect(
            defaults["entries"]?.arrayValue?.isEmpty == true
                || defaults["entries"]?.arrayValue?.allSatisfy { $0["status"] != "Won't Fix" } == true)
        let all = try json("/devel/bugs", "ws.op=searchTasks&bug_commenter=\(person)&status=Won%27t+Fix&status=Fix+Released")
        #expect(all["entries"]?.arrayValue?.contains { $0["bug_link"]?.stringValue?.hasSuffix("/bugs/1990001") == true } == true)
    }

    @Test func errorsLookLikeLaunchpads() {
        #expect(router.route(FixtureRequest(path: "/devel/~nobody", host: "h")).status == 404)
        #expect(router.route(FixtureRequest(path: "/devel/bugs", query: "ws.op=searchTasks&ws.size=301", host: "h")).status == 400)
        #expect(router.route(FixtureRequest(path: "/devel/~alice-example", query: "ws.op=searchQuestions", host: "h")).status == 200)
        #expect(router.route(FixtureRequest(path: "/1.0/~alice-example", query: "ws.op=searchQuestions", host: "h")).status == 400)
        // Datetimes: naive or UTC only, as lazr's marshaller takes them. An offset other than
        // UTC is refused (the fixture took "+01:00" for UTC: it has fewer than 27 characters).
        func since(_ value: String) -> Int {
            let query = "ws.op=searchTasks&modified_since=" + (value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? value)
            return router.route(FixtureRequest(path: "/devel/bugs", query: query, host: "h")).status
        }
        for utc in [
            "2024-03-01", "2024-03-01T00:00:00", "2024-03-01T00:00:00Z", "2024-03-01T00:00:00.000000+00:00", "2024-03-01T00:00:00+0000",
        ] {
            #expect(since(utc) == 200, "\(utc)")
        }
        for local in ["2024-03-01T00:00:00+01:00", "2024-03-01T00:00:00.5-05:00", "2024-03-01T00:00:00+0100"] {
            #expect(since(local) == 400, "\(local)")
        }
    }

    @Test func faultScripts() throws {
        let faults = try FixtureFaults.parseScript("503@3,500@5,truncate@7x2,stall@9")
        #expect(faults == [3: .unavailable, 5: .oops, 7: .truncate, 8: .truncate, 9: .stall])
        #expect(throws: ETLError.self) { try FixtureFaults.parseScript("teapot@1") }
        var random = FixtureFaults()
        random.rate = 0.5
        let drawn = (1...200).map { random.fault(forRequest: $0) }
        #expect(drawn == (1...200).map { random.fault(forRequest: $0) })  // reproducible
        #expect((60...140).contains(drawn.compactMap { $0 }.count))
    }
}
