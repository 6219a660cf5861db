import Foundation
import Testing

@testable import LaunchpadETL
@testable import LaunchpadFixture

@Suite struct QueryTests {
    let validArgs: [String: JSONValue] = [
        "application_name": "my-app", "service_root": "production", "version": "devel",
        "member": "alice-example", "data_date_start": "2023-01-01", "data_date_end": "2023-03-31",
    ]

    @Test func flowInputAcceptsTypeAndQueryType() throws {
        let modern = try JSONDecoder().decode(FlowInput.self, from: Data(#"{"type": "LaunchpadQuery", "args": {"member": "x"}}"#.utf8))
        let original = try JSONDecoder().decode(
            FlowInput.self, from: Data(#"{"query_type": "LaunchpadQuery", "args": {"member": "x"}}"#.utf8))
        #expect(modern == original)
        #expect(modern.type == "LaunchpadQuery")
        let encoded = String(decoding: try JSONEncoder().encode(original), as: UTF8.self)
        #expect(encoded.contains(#""type":"LaunchpadQuery""#))
        #expect(!encoded.contains("query_type"))
        let parsed = try FlowInput.parse(json: #"{"query_type": "LaunchpadQuery", "args": {}}"#)
        #expect(parsed.type == "LaunchpadQuery")
    }

    /// A team's member input names the team beside `args` (`credit_team`), so that the query's
    /// arguments stay those every release knows: an earlier worker, which refuses unknown
    /// arguments, extracts the member alone instead of failing the member's run.
    @Test func aTeamToCreditTravelsBesideTheArguments() async throws {
        let query = try LaunchpadQuery.fromDictionary(validArgs)
        let input = FlowInput(query: query, creditTeam: "example-team")
        #expect(input.json["credit_team"] == "example-team")
        #expect(input.json["args"]?["credit_team"] == nil && input.args.keys.sorted() == validArgs.keys.sorted())
        let parsed = try FlowInput(json: input.json)
        #expect(parsed == input)
        let decoded = try JSONDecoder().decode(FlowInput.self, from: JSONEncoder().encode(input))
        #expect(decoded.creditTeam == "example-team")
        #expect(try LaunchpadQuery.fromDictionary(parsed.args) == query)
        #expect(FlowInput(query: query).json["credit_team"] == nil)
        for bad: JSONValue in [5, "Not A Team"] {
            let error = await etlError {
                try FlowInput(json: ["type": "LaunchpadQuery", "args": .object(validArgs), "credit_team": bad])
            }
            #expect(error?.code == .invalidQuery && error?.message.contains("credit_team") == true, "\(String(describing: error))")
        }
    }

    @Test func factoryBuildsLaunchpadQueryWithSummary() throws {
        let query = try QueryFactory.standard.create(type: "LaunchpadQuery", args: validArgs)
        #expect(
            query.summaryBase() == [
                "launchpad": "my-app@production:devel", "member": "alice-example",
                "data_date_start": "2023-01-01", "data_date_end": "2023-03-31",
            ])
        let typed = try #require(query as? LaunchpadQuery)
        let roundTrip = try LaunchpadQuery.fromDictionary(typed.toDictionary())
        #expect(roundTrip == typed)
        let viaInput = try QueryFactory.standard.create(from: FlowInput(query: typed))
        #expect((viaInput as? LaunchpadQuery) == typed)
    }

    @Test func unknownQueryTypeNamesTheKnownOnes() async {
        let error = await etlError { try QueryFactory.standard.create(type: "JiraQuery", args: [:]) }
        #expect(error?.code == .unknownQueryType)
        #expect(error?.nonRetryable == true)
        #expect(error?.message.contains("JiraQuery") == true)
        #expect(error?.message.contains("LaunchpadQuery") == true)
    }

    @Test(arguments: [
        ("data_date_start", JSONValue("2023/01/01"), "YYYY-MM-DD"),
        ("data_date_end", JSONValue("2023-02-30"), "names no day: 2023-02 has 28 days"),
        ("data_date_start", JSONValue("2023-04-01"), "after data_date_end"),
        ("version", JSONValue("2.0"), "beta, 1.0, devel"),
        ("service_root", JSONValue("prod"), "production"),
        ("service_root", JSONValue("http://launchpad.example.com/"), "https"),
        ("service_root", JSONValue("https://api.launchpad.net/devel/"), "already ends"),
        ("member", JSONValue("~alice"), "username"),
        ("member", JSONValue(42), "must be a string"),
        ("colour", JSONValue("blue"), "no argument 'colour'"),
        // It goes into the User-Agent and OAuth headers: a CR LF added headers (or a whole
        // second request, with the worker's OAuth token) to every Launchpad request.
        ("application_name", JSONValue("x\r\nX-Injected: yes"), "control character (U+D)"),
        ("application_name", JSONValue("x\" oauth_token=\"y"), "a quote"),
    ])
    func invalidArgumentsAreClearNonRetryableErrors(key: String, value: JSONValue, expected: String) async {
        var args = validArgs
        args[key] = value
        let error = await etlError { try LaunchpadQuery.fromDictionary(args) }
        #expect(error?.code == .invalidQuery)
        #expect(error?.nonRetryable == true)
        #expect(error?.message.contains(expected) == true, "\(String(describing: error?.message))")
    }

    /// The 2004 floor is not part of parsing, which workflow code runs on every replay: a run
    /// started before the floor, with an earlier window, replays as it ran (the flows refuse such
    /// a window under a patch, the starter before starting).
    @Test func aWindowBeforeLaunchpadStillParses() throws {
        var args = validArgs
        args["data_date_start"] = "2000-01-01"
        #expect(try LaunchpadQuery.fromDictionary(args).dataDateStart == "2000-01-01")
        #expect(LaunchpadQuery.tooEarly(try #require(CivilDate(iso: "2003-12-31")), name: "x") != nil)
        #expect(LaunchpadQuery.tooEarly(try #require(CivilDate(iso: "2004-01-01")), name: "x") == nil)
    }

    @Test func missingMemberIsAnError() async {
        var args = validArgs
        args["member"] = nil
        let error = await etlError { try LaunchpadQuery.fromDictionary(args) }
        #expect(error?.message.contains("needs 'member'") == true)
    }

    @Test func serviceRootsResolve() throws {
        #expect(try ServiceRoot("production").url == "https://api.launchpad.net/")
        // Spelled as Launchpad's links are, which review targets are matched against.
        #expect(try ServiceRoot("HTTPS://API.Launchpad.net:443").url == "https://api.launchpad.net/")
        #expect(try ServiceRoot("http://LOCALHOST:80/lp").url == "http://localhost/lp/")
        #expect(try ServiceRoot("http://127.0.0.1:8999/").url == "http://127.0.0.1:8999/")
        #expect(
            ReviewTargets.target(
                ofBugTarget: "https://api.launchpad.net/devel/netplan",
                apiBase: try ServiceRoot("https://API.launchpad.net:443/").apiBase(version: "devel")) == "netplan")
        #expect(try ServiceRoot("staging").url == "https://api.staging.launchpad.net/")
        #expect(try ServiceRoot("qastaging").url == "https://api.qastaging.launchpad.net/")
        #expect(try ServiceRoot("dogfood").url == "https://api.dogfood.paddev.net/")
        #expect(try ServiceRoot("http://127.0.0.1:8085").url == "http://127.0.0.1:8085/")
        #expect(try ServiceRoot("http://localhost:9/").apiBase(version: "devel") == "http://localhost:9/devel/")
        #expect(try ServiceRoot("https://lp.example.org/").url == "https://lp.example.org/")
    }

    /// Plain http is for the fixture on this machine only: a root that merely starts with
    /// `127.` or puts `127.0.0.1@` before another host is not loopback.
    @Test func plainHTTPIsRefusedForHostsThatOnlyLookLikeLoopback() throws {
        #expect(try ServiceRoot("http://127.1.2.3:8085/").url == "http://127.1.2.3:8085/")
        #expect(try ServiceRoot("http://[::1]:8085/").url == "http://[::1]:8085/")
        for root in [
            "http://127.0.0.1@evil.example/", "http://127.evil.example/", "http://127.0.0.1.evil.example/",
            "http://127.0.0.1:80@evil.example:8085/", "http://127.0.0.256/", "http://127.08.0.1/",
        ] {
            #expect(throws: ETLError.self, "\(root) was accepted over plain http") { try ServiceRoot(root) }
        }
    }

    @Test func defaultsAndLowercasing() throws {
        let query = try LaunchpadQuery.fromDictionary([
            "member": "Alice-Example", "data_date_start": "2024-03-01", "data_date_end": "2024-03-01",
        ])
        #expect(query.member == "alice-example")
        #expect(query.serviceRoot == "production")
        #expect(query.version == "devel")
        let window = try query.window()
        #expect(window.start.description == "2024-03-01T00:00:00Z")
        #expect(window.end.description == "2024-03-02T00:00:00Z")
    }
}
