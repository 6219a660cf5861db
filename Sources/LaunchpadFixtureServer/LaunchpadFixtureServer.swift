import ArgumentParser
import FlyingFox
import FlyingSocks
import Foundation
import LaunchpadETL
import LaunchpadFixture

/// `swift run LaunchpadFixtureServer`: an offline Launchpad for tests, demos and benchmarks.
///
/// Serves `FixtureDataset.standard` through `FixtureRouter` at
/// `http://HOST:PORT/devel/...`; point the ETL at it with service root
/// `http://HOST:PORT/`. Prints `listening on http://HOST:PORT/` once ready (with the real
/// port when `--port 0`).
@main
struct LaunchpadFixtureServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "An offline Launchpad API (devel JSON shapes, paging, faults) for the ETL's tests and demos."
    )

    @Option(help: "Address to listen on (loopback by default).")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (8999, as scripts/run and the README use it); 0 picks a free port (printed at start).")
    var port: UInt16 = 8999

    @Option(name: .customLong("latency-ms"), help: "Delay added to every response, in milliseconds.")
    var latencyMilliseconds = 0

    @Option(help: "Scripted faults by request number, e.g. 503@3,500@5,truncate@7x2,stall@9 (env LP_FIXTURE_FAULTS).")
    var faults: String?

    @Option(name: .customLong("fault-rate"), help: "Probability of a random fault per request (0...1).")
    var faultRate = 0.0

    @Option(name: .customLong("fault-kinds"), help: "Kinds drawn by --fault-rate: 503,502,500,truncate,stall.")
    var faultKinds = "503,500,truncate,stall"

    @Option(help: "Seed for --fault-rate.")
    var seed: UInt64 = 1

    @Option(name: .customLong("stall-ms"), help: "How long a 'stall' fault delays its response.")
    var stallMilliseconds = 5_000

    @Option(name: .customLong("retry-after"), help: "Retry-After seconds sent with 503 faults.")
    var retryAfter = 1

    @Option(
        name: .customLong("timeout-above-page-size"),
        help: "Model Launchpad's server-side timeouts: named operations asked for pages larger than this answer 503 with Retry-After: 900.")
    var timeoutAbovePageSize: Int?

    @Flag(
        name: .customLong("shift-listings"),
        help: "Merge-proposal listings in a different order at every request (no stable order across pages, as on Launchpad).")
    var shiftListings = false

    @Flag(
        name: .customLong("plan-dependent-listings"),
        help:
            "Merge-proposal listings ordered by a plan chosen from offset + page size (by id up to 300 rows, scrambled above): the same page always gets the same rows, and pages overlap and miss."
    )
    var planDependentListings = false

    @Flag(
        name: .customLong("entries-leave"),
        help:
            "Ordered listings (bug and question searches, team members) lose their first entry after their first request, as when a bug is made private or a member leaves while a client pages."
    )
    var entriesLeave = false

    @Flag(
        name: .customLong("entries-keep-leaving"),
        help: "Like --entries-leave, with one more entry gone at every later request of a listing.")
    var entriesKeepLeaving = false

    @Option(
        name: .customLong("unreadable-targets"),
        help:
            "Comma-separated projects or packages whose merge-proposal listing answers 404 (a project made proprietary), or teams (~team) whose getOwnedProjects does."
    )
    var unreadableTargets = ""

    @Option(
        name: .customLong("deactivated-projects"),
        help:
            "Comma-separated projects deactivated by Launchpad's admins: searches leave out their bug tasks and questions, and their pages answer 404 (bugs still read at bugs/N)."
    )
    var deactivatedProjects = ""

    @Option(
        name: .customLong("private-bugs"),
        help: "Comma-separated bug ids made private since the standard data was written: not listed, and their URLs answer 404.")
    var privateBugs = ""

    @Option(
        name: .customLong("moved-proposals"),
        help:
            "Comma-separated merge proposal ids whose source repository was renamed after the listings were read: listed at their old links, which answer 404."
    )
    var movedProposals = ""

    @Option(
        name: .customLong("deactivated-namesakes"),
        help:
            "Comma-separated people whose name an earlier account held: that account, deactivated since, reads as <name>-deactivatedaccount."
    )
    var deactivatedNamesakes = ""

    @Option(
        name: .customLong("people-leaving"),
        help:
            "Comma-separated people who leave every team once a team's members were listed whole a first time: later members listings leave them out."
    )
    var peopleLeaving = ""

    @Flag(
        name: .customLong("privacy-after-cut"),
        help:
            "Bug searches and merge-proposal listings count private entries in total_size and drop them after each page is cut, instead of leaving them out before (as Launchpad does)."
    )
    var privacyAfterCut = false

    /// Out-of-range values are refused: clamped, a typo (`--fault-rate 5`) made a fixture that
    /// behaved very differently from the one asked for, without a word.
    func validate() throws {
        guard faultRate.isFinite, (0...1).contains(faultRate) else { throw ValidationError("--fault-rate must be between 0 and 1") }
        for (name, value) in [("--latency-ms", latencyMilliseconds), ("--stall-ms", stallMilliseconds), ("--retry-after", retryAfter)]
        where value < 0 {
            throw ValidationError("\(name) must be 0 or more")
        }
        if let size = timeoutAbovePageSize, size < 1 { throw ValidationError("--timeout-above-page-size must be 1 or more") }
        // A fault rate with no kind to draw from injected nothing, without a word.
        if faultRate > 0, Self.list(faultKinds).isEmpty {
            throw ValidationError(
                "--fault-rate \(faultRate) with no --fault-kinds injects nothing: name some (\(FixtureFaults.Kind.allCases.map(\.rawValue).joined(separator: ",")))"
            )
        }
        // The listener takes an IPv4 address: a name failed later as "makeFailed(inet_pton AF_INET)".
        var address = in_addr()
        if host != "localhost", inet_pton(AF_INET, host, &address) != 1 {
            throw ValidationError("--host '\(host)' is not an IPv4 address: use 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)")
        }
    }

    /// The IPv4 address listened on: `--host`, with `localhost` as 127.0.0.1.
    var listenAddress: String { host == "localhost" ? "127.0.0.1" : host }

    /// A comma-separated option's items, trimmed, without empty ones ("a, b" is a and b).
    static func list(_ text: String) -> [String] {
        text.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func run() async throws {
        var plan = FixtureFaults()
        plan.latencyMilliseconds = max(0, latencyMilliseconds)
        plan.stallMilliseconds = max(0, stallMilliseconds)
        plan.retryAfterSeconds = max(0, retryAfter)
        plan.timeoutAbovePageSize = timeoutAbovePageSize
        plan.shiftListings = shiftListings
        plan.planDependentListings = planDependentListings
        plan.entriesLeave = entriesLeave
        plan.entriesKeepLeaving = entriesKeepLeaving
        plan.privacyAfterTheCut = privacyAfterCut
        plan.unreadableTargets = Set(Self.list(unreadableTargets))
        plan.deactivatedProjects = Set(Self.list(deactivatedProjects))
        plan.deactivatedNamesakes = Set(Self.list(deactivatedNamesakes))
        plan.peopleLeaving = Set(Self.list(peopleLeaving))
        plan.privateBugs = Set(
            try Self.list(privateBugs).map { token in
                guard let id = Int(token), id > 0 else { throw ValidationError("--private-bugs: '\(token)' is not a bug id") }
                return id
            })
        plan.movedProposals = Set(
            try Self.list(movedProposals).map { token in
                guard let id = Int(token), id > 0 else { throw ValidationError("--moved-proposals: '\(token)' is not a proposal id") }
                return id
            })
        plan.seed = seed
        plan.rate = min(1, max(0, faultRate))
        plan.randomKinds = try Self.list(faultKinds).map { token in
            guard let kind = FixtureFaults.Kind(rawValue: String(token)) else {
                throw ValidationError(
                    "unknown fault kind '\(token)'; use \(FixtureFaults.Kind.allCases.map(\.rawValue).joined(separator: ","))")
            }
            return kind
        }
        if let script = faults ?? ProcessInfo.processInfo.environment["LP_FIXTURE_FAULTS"], !script.isEmpty {
            plan.scripted = try FixtureFaults.parseScript(script)
        }
        let router = FixtureRouter(faults: plan)
        let server = HTTPServer(
            address: try .inet(ip4: listenAddress, port: port), timeout: 120,
            pool: NoDelaySocketPool(base: HTTPServer.defaultPool()),
            logger: .disabled,
            handler: ClosureHTTPHandler { request in try await Self.respond(to: request, with: router) }
        )
        // A server that cannot bind (the port is taken) ends `run` at once: that ends the wait too,
        // so the error says why instead of a listening timeout 10 s later.
        let listening = Task { try await server.waitUntilListening(timeout: 10) }
        let serverTask = Task {
            defer { listening.cancel() }
            try await server.run()
        }
        do {
            try await listening.value
        } catch {
            serverTask.cancel()
            if case .failure(let runError) = await serverTask.result {
                throw CannotListen(
                    description:
                        "cannot listen on \(host):\(port): \(runError); if the port is in use, choose another with --port (0 picks a free one)"
                )
            }
            if error is CancellationError {
                throw CannotListen(description: "the server on \(host):\(port) stopped before it listened")
            }
            throw error
        }
        var actualPort = port
        if case .ip4(_, let boundPort)? = await server.listeningAddress { actualPort = boundPort }
        FileHandle.standardOutput.write(Data("LaunchpadFixtureServer listening on http://\(listenAddress):\(actualPort)/\n".utf8))
        try await serverTask.value
    }

    static func respond(to request: HTTPRequest, with router: FixtureRouter) async throws -> HTTPResponse {
        let fixtureRequest = FixtureRequest(
            method: request.method.rawValue,
            path: request.target.path(percentEncoded: false),
            query: request.target.query(percentEncoded: true),
            host: request.headers[HTTPHeader("Host")] ?? "127.0.0.1",
            scheme: request.headers[HTTPHeader("X-Forwarded-Proto")] ?? "http",
            authorization: request.headers[HTTPHeader("Authorization")],
            userAgent: request.headers[HTTPHeader("User-Agent")] ?? ""
        )
        let response = router.handle(fixtureRequest)
        if response.delayMilliseconds > 0 {
            try await Task.sleep(for: .milliseconds(response.delayMilliseconds))
        }
        var headers = HTTPHeaders()
        for (name, value) in response.headers { headers[HTTPHeader(name)] = value }
        return HTTPResponse(
            statusCode: HTTPStatusCode(response.status, phrase: Self.phrase(response.status)), headers: headers, body: Data(response.body))
    }

    static func phrase(_ status: Int) -> String {
        [
            200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
            500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
        ][status] ?? "Status"
    }
}

/// The fixture could not take its address (printed as is, without the usage text).
struct CannotListen: Error, CustomStringConvertible {
    let description: String
}
