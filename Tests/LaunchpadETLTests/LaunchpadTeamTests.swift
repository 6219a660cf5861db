import Foundation
import Testing

@testable import LaunchpadETL
@testable import LaunchpadFixture

/// `LaunchpadClient.teamMembers(team:)` over real HTTP (libcurl) against the fixture server,
/// and the fixture's `~team/members` route in-process.
@Suite(.serialized) struct LaunchpadTeamTests {
    @Test func teamMembersFollowsEveryPage() async throws {
        let server = try await startFixture()
        let client = try fixtureClient(server, pageSize: 3)
        let members = try await client.teamMembers(team: "example-team")
        #expect(members == FixtureDataset.exampleTeamMembers)
        #expect(client.requestCount == 2)  // 4 members, 3 per page: the second page was followed
        let first = try await client.page(client.firstPageURL(client.apiBase + "~example-team/members"))
        #expect(first.entries.count == 3)
        #expect(first.nextLink?.contains("ws.start=3") == true)
    }

    @Test func onePerPage() async throws {
        let server = try await startFixture()
        let client = try fixtureClient(server, pageSize: 1)
        #expect(try await client.teamMembers(team: "example-team") == FixtureDataset.exampleTeamMembers)
        #expect(client.requestCount == 4)
    }

    @Test func unknownTeamIsAClearNonRetryableError() async throws {
        let server = try await startFixture()
        let client = try fixtureClient(server)
        let error = await etlError { try await client.teamMembers(team: "no-such-team") }
        #expect(error?.code == .unknownTeam)
        #expect(error?.nonRetryable == true)
        #expect(error?.message.contains("no Launchpad team named 'no-such-team'") == true)
        #expect(error?.message.contains("HTTP 404") == true)
        #expect(client.retryCount == 0)
    }

    @Test func aPersonIsNotATeam() async throws {
        let server = try await startFixture()
        let client = try fixtureClient(server)
        let error = await etlError { try await client.teamMembers(team: "alice-example") }
        #expect(error?.code == .unknownTeam)
        #expect(error?.nonRetryable == true)
        #expect(error?.message.contains("'alice-example'") == true)
        #expect(error?.message.contains("not a team") == true)
    }

    @Test func fixtureServesTheTeamLikeLaunchpad() throws {
        let router = FixtureRouter()
        func json(_ path: String, _ query: String = "") throws -> JSONValue {
            let response = router.route(FixtureRequest(path: path, query: query, host: "127.0.0.1:9"))
            #expect(response.status == 200)
            return try JSONParser.parse(response.body)
        }
        let team = try json("/devel/~example-team")
        #expect(team["is_team"]?.boolValue == true)
        #expect(team["members_collection_link"]?.stringValue == "http://127.0.0.1:9/devel/~example-team/members")
        let page = try json("/devel/~example-team/members", "ws.size=2")
        #expect(page["entries"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["alice-example", "bob-example"])
        #expect(page["total_size"]?.intValue == 4)
        #expect(page["resource_type_link"]?.stringValue?.hasSuffix("#person-page-resource") == true)
        #expect(page["next_collection_link"]?.stringValue == "http://127.0.0.1:9/devel/~example-team/members?ws.size=2&memo=2&ws.start=2")
        let person = try json("/devel/~alice-example/members")
        #expect(person["entries"]?.arrayValue?.isEmpty == true)
        #expect(router.route(FixtureRequest(path: "/devel/~no-such-team/members", query: "", host: "127.0.0.1:9")).status == 404)
    }

    @Test func subTeamsAreExpandedTransitivelyEachPersonOnce() async throws {
        let server = try await startFixture()
        let client = try fixtureClient(server, pageSize: 1)
        let roster = try await client.teamPeople(team: "parent-team")
        #expect(roster.people == ["alice-example", "erin-suspended", "bob-example", "dave-quiet"])
        #expect(roster.subTeams == ["sub-team", "inner-team"])
        #expect(try await client.teamPeople(team: "example-team").people == FixtureDataset.exampleTeamMembers)
        let error = await etlError { try await client.teamPeople(team: "alice-example") }
        #expect(error?.code == .unknownTeam)
    }

    /// A members listing that counts a member it does not show (a private team) says so.
    @Test func aMembersListingThatHidesMembersSaysSo() async throws {
        let server = try await startFixture()
        let roster = try await fixtureClient(server, pageSize: 1).teamPeople(team: "mixed-team")
        #expect(roster.people == ["alice-example"] && roster.subTeams.isEmpty)
        #expect(
            roster.hidden
                == [
                    "~mixed-team lists 1 of its 2 members to this worker (the others, private teams or accounts it may not see, are not extracted)"
                ])
        #expect(try await fixtureClient(server).teamPeople(team: "parent-team").hidden.isEmpty)
    }

    /// A private sub-team this reader may see by name only (launchpad.LimitedView: listed in
    /// the team holding it, its members 401 naming launchpad.View, as Launchpad's web service
    /// answers) is named in `hidden`, and the rest of the roster read: the 401 failed the whole
    /// team for good, blaming the token. The same for its former members and for such a team
    /// among the team's former members. A top team seen so says what to do.
    @Test func aPrivateSubTeamSeenByNameOnlyIsNamedAndTheRestRead() async throws {
        let server = try await startFixture()
        let client = try fixtureClient(server, pageSize: 1)
        let roster = try await client.teamPeople(team: "corp-team")
        #expect(roster.people == ["alice-example"] && roster.subTeams.isEmpty, "\(roster)")
        #expect(
            roster.hidden == [
                "~corp-secret, a private sub-team this worker's Launchpad account may see by name only, cannot be read: its people are not extracted"
            ], "\(roster.hidden)")
        let march = try march2024()
        let former = try await client.formerMembers(of: ["corp-team", "corp-secret"], during: march, excluding: ["alice-example"])
        #expect(former.people.isEmpty, "\(former)")
        #expect(
            former.hidden == [
                "~corp-secret's former members (expired_members, deactivated_members, proposed_members, invited_members) cannot be read (this worker's Launchpad account may see the private team by name only): they are not extracted",
                "~corp-alumni, a sub-team that left, cannot be read (this worker's Launchpad account may see the private team by name only): its people are not extracted",
            ], "\(former.hidden)")
        let error = await etlError { try await client.teamPeople(team: "corp-secret") }
        #expect(error?.code == .unauthorized && error?.nonRetryable == true)
        #expect(
            error?.message.contains("~corp-secret is a private team whose members this worker's Launchpad account may not see") == true,
            "\(String(describing: error))")
        // Read as a denial of this reader where a run reads a team's people (`coMembers`).
        #expect(error.map(LaunchpadClient.deniedToThisReader) == true)
    }

    /// A former member who applied again (Launchpad keeps one membership row and moves it to
    /// Proposed, overwriting the old expiry) is listed only in `proposed_members`: read there,
    /// from when she joined to the window's end, as a deactivated member is. Someone who only
    /// ever applied (never joined) is not. Before, she was in neither listing the run read, and
    /// her activity while a member was left out of the team.
    @Test func aFormerMemberWhoAppliedAgainIsAFormerMember() async throws {
        let server = try await startFixture()
        let client = try fixtureClient(server, pageSize: 1)
        let march = try march2024()
        let former = try await client.formerMembers(of: ["reapply-team"], during: march, excluding: ["alice-example"])
        #expect(former.people == ["ivy-reapplied"], "\(former)")
        #expect(former.periods["ivy-reapplied"] == march, "\(former.periods)")
        #expect(former.hidden.isEmpty, "\(former.hidden)")
    }

    /// A sub-team that left during the window brings its people with it as former members; one
    /// that left before the window does not. Henry's own membership ended before March 2024,
    /// but he was a member through left-squad. The private sub-team that left is counted in the
    /// listing and not shown, which is said. Before, a sub-team among the former members was
    /// dropped without a word, and gina's March went unread. Carol left left-squad on March 15th,
    /// while it was still a member: she is a former member too (before, left-squad's own former
    /// members were not read); dave was in left-squad only after it had left. left-squad's
    /// sub-team renamed-squad answers 404 on every page: it is named (before, the note named
    /// left-squad), and nothing more is asked of it. late-squad, reached first inside
    /// early-squad (which left on March 5th), is read again over its own span: frank left it on
    /// the 25th.
    @Test func theFormerMembersOfASubTeamThatLeftAreFormerMembersToo() async throws {
        let server = try await startFixture()
        let client = try fixtureClient(server, pageSize: 1)
        let march = try march2024()
        let former = try await client.formerMembers(of: ["squad-team"], during: march, excluding: ["alice-example"])
        #expect(Set(former.people) == Set(FixtureDataset.squadTeamFormerPeopleInMarch2024), "\(former)")
        #expect(former.people.count == Set(former.people).count)
        // Each is read over the days they may have been a member on.
        let periods = former.periods.mapValues { "\($0.firstDay)…\($0.lastDay)" }
        #expect(
            periods == [
                "gina-prolific": "2024-03-01…2024-03-20", "henry-teamwork": "2024-03-01…2024-03-20",
                "carol-busy": "2024-03-01…2024-03-15", "frank-edge": "2024-03-10…2024-03-25",
            ], "\(periods)")
        #expect(
            former.hidden == [
                "~squad-team/expired_members lists 5 of the 6 it counts to this worker (the others, private teams or accounts it may not see, are not extracted)",
                "~renamed-squad, a sub-team, cannot be read (LaunchpadNotFound): its people are not extracted",
            ], "\(former.hidden)")
        let before = ExtractionWindow(
            firstDay: try #require(CivilDate(iso: "2022-12-01")), lastDay: try #require(CivilDate(iso: "2022-12-31")))
        let earlier = try await client.formerMembers(of: ["squad-team"], during: before, excluding: ["alice-example"]).people
        #expect(
            Set(earlier) == ["gina-prolific", "henry-teamwork", "carol-busy"],
            "both sub-teams, henry himself and carol through left-squad were members then: \(earlier)")
        let later = ExtractionWindow(
            firstDay: try #require(CivilDate(iso: "2024-04-01")), lastDay: try #require(CivilDate(iso: "2024-04-30")))
        #expect(try await client.formerMembers(of: ["squad-team"], during: later, excluding: ["alice-example"]).people.isEmpty)
    }
}
