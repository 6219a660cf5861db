import Foundation
import Temporal
import TemporalTestSupport
import TemporalWorker
import Testing

@testable import LaunchpadETL
@testable import LaunchpadFixture

/// The worker's Launchpad secret must never reach a host that workflow input names.
@Suite struct CredentialSafetyTests {
    static let secrets = ["LP_CONSUMER_KEY": "etl-app", "LP_ACCESS_TOKEN": "tok3n-visible", "LP_ACCESS_SECRET": "s3cret-value"]

    /// A worker process holding the credentials, and alice-example's `LaunchpadFlow` against
    /// `root` on its queue (the caller kills the worker).
    private func flowWithCredentials(serviceRoot root: String, prefix: String, directory: TemporaryDirectory) async throws -> (
        WorkerProcess, WorkflowHandle
    ) {
        let queue = flowQueue(prefix)
        let worker = try WorkerProcess(
            server: try await DevServer.shared(), directory: directory, name: "w", queue: queue, environment: Self.secrets)
        do {
            let handle = try await DevServer.client().startWorkflow(
                type: LaunchpadFlow.name, id: "\(prefix)-\(UUID().uuidString)", taskQueue: queue,
                args: launchpadInput("alice-example", serviceRoot: root))
            return (worker, handle)
        } catch {
            worker.kill()
            throw error
        }
    }

    /// A header value with a line break (an application name no query check saw) ended its
    /// header and started another on the wire: refused by the transport, nothing sent.
    @Test func aHeaderValueWithALineBreakIsNeverSent() async throws {
        let recorder = try HeaderRecorder()
        let client = LaunchpadClient(
            configuration: LaunchpadClientConfiguration(
                serviceRoot: try ServiceRoot(recorder.root), applicationName: "x\r\nX-Injected: yes"))
        let error = await etlError { _ = try await client.person(named: "alice") }
        #expect(error != nil)
        #expect(recorder.requests.allSatisfy { !$0.contains("X-Injected") }, "\(recorder.requests)")
        #expect(recorder.requests.isEmpty, "\(recorder.requests)")
    }

    /// The reported leak, end to end: a worker with credentials, a flow whose input points at
    /// an arbitrary listener. The listener is asked for the member but never sees the secret.
    @Test func aServiceRootFromWorkflowInputNeverReceivesTheCredentials() async throws {
        let recorder = try HeaderRecorder()
        let directory = try TemporaryDirectory()
        let (worker, handle) = try await flowWithCredentials(serviceRoot: recorder.root, prefix: "creds", directory: directory)
        defer { worker.kill() }
        let failure = try await within(60) { await flowFailure(handle) }
        #expect(failure?.type == ETLError.Code.unknownMember.rawValue, "\(String(describing: failure))")
        let heads = recorder.requests
        #expect(!heads.isEmpty)
        for head in heads {
            #expect(!head.lowercased().contains("authorization"), "\(head)")
            #expect(!head.contains("s3cret-value") && !head.contains("tok3n-visible"), "\(head)")
        }
        try await worker.waitForLog("are not sent to service root \(recorder.root)", seconds: 10)
    }

    /// A run whose credentials were withheld read public data only, and its result says so
    /// (before, only the worker's log did).
    @Test func aRunWithoutItsCredentialsSaysSoInItsResult() async throws {
        let fixture = try await startFixture()
        let directory = try TemporaryDirectory()
        let (worker, handle) = try await flowWithCredentials(serviceRoot: fixture.serviceRoot, prefix: "anon", directory: directory)
        defer { worker.kill() }
        let result = try await within(120) { try await handle.result(as: FlowResult.self) }
        #expect(result.itemsProcessed == FixtureDataset.aliceMarch2024EventCount)
        let skipped = try #require(result.summary[FlowResult.skippedKey])
        #expect(skipped.hasPrefix("private data: the Launchpad credentials of this worker are not sent to service root"), "\(skipped)")
        #expect(skipped.contains("public data only"), "\(skipped)")
        #expect(!skipped.contains("s3cret") && !skipped.contains("tok3n"), "\(skipped)")
        #expect(result.summary[FlowResult.accessKey] == FlowResult.anonymousAccess)
    }

    /// Part of a batch read without the credentials stays so when a later attempt resumes it
    /// with them (workers configured differently): the note is kept in the checkpoint, not
    /// taken from the attempt that finishes. Before, only the finishing attempt's own
    /// configuration decided it, and this result said nothing.
    @Test func anAnonymousAttemptsNoteOutlivesIt() async throws {
        let fixture = try await startFixture(["--faults", "500@4"])
        let directory = try TemporaryDirectory()
        let store = try SQLiteEventStore(path: directory.file("events.db"))
        let query = try marchQuery("alice-example", serviceRoot: fixture.serviceRoot)
        var withheld = try fixtureClient(fixture, maxAttempts: 1).configuration
        withheld.credentialsWithheld = "the credentials of this worker are not sent to this root (test)"
        let anonymous = try LaunchpadExtractor(query: query, client: LaunchpadClient(configuration: withheld), store: store)
        await #expect(throws: ETLError.self) { _ = try await anonymous.run(batchId: "anon-then-not") }
        let stored = try #require(try await store.loadCheckpoint(batchId: "anon-then-not"))
        #expect(stored.phase != .bugsReported, "the first attempt should have got past its first page: \(stored)")

        let resumed = try LaunchpadExtractor(query: query, client: try fixtureClient(fixture), store: store)
        let result = try await resumed.run(batchId: "anon-then-not", resumeFrom: stored)
        #expect(result.skippedPhases == ["private data: the credentials of this worker are not sent to this root (test)"])
        #expect(result.readAnonymously == true)
    }

    @Test func credentialsGoOnlyOverHTTPSToLaunchpadOrOperatorListedHosts() throws {
        func configuration(_ root: String, _ extra: [String: String] = [:]) throws -> LaunchpadClientConfiguration {
            let query = try LaunchpadQuery(
                applicationName: "etl-app", serviceRoot: root, version: "devel", member: "alice-example",
                dataDateStart: "2024-03-01", dataDateEnd: "2024-03-31")
            return try LaunchpadClientConfiguration(query: query, environment: Self.secrets.merging(extra) { $1 })
        }
        #expect(try configuration("production").credentials != .anonymous)
        #expect(try configuration("staging").credentials != .anonymous)
        #expect(try configuration("https://api.launchpad.net/").credentialsWithheld == nil)
        // Roots from input that the operator did not trust run anonymously.
        let local = try configuration("http://127.0.0.1:8085/")
        #expect(local.credentials == .anonymous)
        #expect(local.credentialsWithheld?.contains("not https") == true)
        let elsewhere = try configuration("https://evil.example/", ["LP_ALLOWED_SERVICE_ROOTS": "production,https://evil.example/"])
        #expect(elsewhere.credentials == .anonymous)
        #expect(elsewhere.credentialsWithheld?.contains("LP_CREDENTIAL_HOSTS") == true)
        // ... unless the operator lists the host; plain http never qualifies.
        #expect(
            try configuration("https://lp-proxy.corp.example/", ["LP_CREDENTIAL_HOSTS": "lp-proxy.corp.example"]).credentials != .anonymous)
        #expect(try configuration("http://localhost:8085/", ["LP_CREDENTIAL_HOSTS": "localhost:8085"]).credentials == .anonymous)

        // A request URL outside the trusted hosts (a next link, a redirect) gets no header either.
        let policy = LaunchpadAccessPolicy()
        #expect(policy.credentialRefusal(for: "https://api.launchpad.net/devel/bugs?ws.start=75") == nil)
        #expect(policy.credentialRefusal(for: "https://api.launchpad.net:443/devel/") == nil)
        #expect(policy.credentialRefusal(for: "https://api.launchpad.net.evil.example/devel/") != nil)
        #expect(policy.credentialRefusal(for: "https://user@evil.example/devel/") != nil)
        #expect(policy.credentialRefusal(for: "http://api.launchpad.net/devel/") != nil)
        // URL tricks resolve to the host libcurl would connect to, and only exact hosts qualify.
        for url in [
            "https://api.launchpad.net@evil.example/devel/", "https://api.launchpad.net:443@evil.example/",
            "https://evil.example#@api.launchpad.net/", "https://evil.example?@api.launchpad.net/",
            "https://api.launchpad.net./devel/", "https://API.LAUNCHPAD.NET.evil.example/", "https://[::1]/devel/",
            "https://api.launchpad.net:8443/devel/",
        ] {
            #expect(policy.credentialRefusal(for: url) != nil, "\(url)")
        }
        #expect(policy.credentialRefusal(for: "HTTPS://API.LAUNCHPAD.NET/devel/") == nil)
        // Operator entries are normalised like request hosts.
        let listed = LaunchpadAccessPolicy(credentialHosts: ["https://LP-Proxy.corp.example/", "mirror.example:443", "other.example."])
        #expect(listed.credentialHosts == ["lp-proxy.corp.example", "mirror.example", "other.example"])
        #expect(listed.credentialRefusal(for: "https://mirror.example/devel/") == nil)
    }

    /// A credential host the operator mistyped (a wildcard, a path, plain http) stops the
    /// worker instead of being kept literally or dropped without a word.
    @Test func credentialHostsThatAreNotHostsAreRefused() throws {
        for entry in [
            "*.corp.example", "http://lp-proxy.corp.example", "lp-proxy.corp.example/devel", "user@lp-proxy", "lp-proxy:http", "lp proxy",
        ] {
            let error = #expect(throws: ETLError.self, "\(entry)") {
                try LaunchpadAccessPolicy(environment: ["LP_CREDENTIAL_HOSTS": "mirror.example, \(entry)"])
            }
            #expect(error?.code == .invalidConfiguration)
            #expect(error?.message.contains("LP_CREDENTIAL_HOSTS lists '\(entry)'") == true, "\(error?.message ?? "")")
        }
        for entry in [
            "lp-proxy.corp.example", "LP-Proxy.corp.example:8443", "https://lp-proxy.corp.example/", "[::1]:8443", "10.0.0.7",
            "lp_proxy:8443",
        ] {
            #expect(throws: Never.self, "\(entry)") { try LaunchpadAccessPolicy(environment: ["LP_CREDENTIAL_HOSTS": entry]) }
        }
    }

    /// What the worker checks when it starts: everything a flow would read from the environment.
    @Test func theWorkersLaunchpadSettingsAreCheckedAtStart() throws {
        let anonymous = try LaunchpadClientConfiguration.checkEnvironment([:])
        #expect(anonymous.access.contains("anonymous"))
        #expect(anonymous.warnings.isEmpty)
        let oauth = try LaunchpadClientConfiguration.checkEnvironment([
            "LP_ACCESS_TOKEN": "t", "LP_ACCESS_SECRET": "s", "LP_APP_ID": "my-etl",
        ])
        #expect(oauth.access.contains("OAuth, consumer 'my-etl'"), "\(oauth.access)")
        #expect(!oauth.access.contains("\"s\"") && !oauth.access.contains(" t "))
        // Read from a secret file, it ends with a line break, which would go into every request's
        // headers (each flow then failed); trimmed as the other LP_ values are.
        let fromAFile = try LaunchpadClientConfiguration.checkEnvironment([
            "LP_ACCESS_TOKEN": "t", "LP_ACCESS_SECRET": "s", "LP_APP_ID": "my-etl\n",
        ])
        #expect(fromAFile.access.contains("OAuth, consumer 'my-etl'"), "\(fromAFile.access)")
        let query = try LaunchpadQuery(
            applicationName: LaunchpadQuery.defaultApplicationName, serviceRoot: "production", version: "devel", member: "alice-example",
            dataDateStart: "2024-03-01", dataDateEnd: "2024-03-31")
        #expect(try LaunchpadClientConfiguration(query: query, environment: ["LP_APP_ID": " my-etl\n"]).applicationName == "my-etl")
        #expect(try LaunchpadClientConfiguration(query: query, environment: ["LP_APP_ID": " "]).applicationName == query.applicationName)
        let typo = try LaunchpadClientConfiguration.checkEnvironment(["LP_ACCESS_TOKN": "t", "LP_FIXTURE_FAULTS": "x"])
        #expect(typo.warnings.count == 1 && typo.warnings[0].hasPrefix("LP_ACCESS_TOKN is set but"), "\(typo.warnings)")
        for (environment, variable) in [
            (["LP_ACCESS_TOKEN": "t"], "LP_ACCESS_SECRET"), (["LP_MAX_RETRY_AFTER": "soon"], "LP_MAX_RETRY_AFTER"),
            (["LP_MAX_CONCURRENT_STREAMS": "0"], "LP_MAX_CONCURRENT_STREAMS"),
            (["LP_CREDENTIALS_FILE": "/nonexistent/creds"], "LP_CREDENTIALS_FILE"), (["LP_APP_ID": "a\nb"], "LP_APP_ID"),
        ] {
            let error = #expect(throws: ETLError.self, "\(environment)") { try LaunchpadClientConfiguration.checkEnvironment(environment) }
            #expect(error?.message.contains(variable) == true, "\(error?.message ?? "")")
        }
    }

    /// Unless the operator allows others, workflow input may name the Launchpad instances, the
    /// hosts the operator trusts with credentials and loopback roots only: the worker fetches
    /// what input names and puts parts of the answers into failures, so anyone allowed to start
    /// a workflow could read internal https hosts through it (any root was allowed). A root with
    /// a user name or a query (which swallowed the API path) is refused whatever the policy.
    @Test func inputNamesOnlyLaunchpadTrustedOrLoopbackRootsByDefault() throws {
        func configuration(_ root: String, _ environment: [String: String] = [:]) throws -> LaunchpadClientConfiguration {
            let query = try LaunchpadQuery(
                applicationName: "etl-app", serviceRoot: root, version: "devel", member: "alice-example",
                dataDateStart: "2024-03-01", dataDateEnd: "2024-03-31")
            return try LaunchpadClientConfiguration(query: query, environment: environment)
        }
        for root in ["production", "staging", "http://127.0.0.1:8085/", "https://localhost:8443/"] {
            #expect(throws: Never.self, "\(root)") { _ = try configuration(root) }
        }
        #expect(throws: Never.self) {
            _ = try configuration("https://lp-proxy.corp.example/", ["LP_CREDENTIAL_HOSTS": "lp-proxy.corp.example"])
        }
        let refused = #expect(throws: ETLError.self) { _ = try configuration("https://internal.corp.example/admin/") }
        #expect(refused?.code == .serviceRootNotAllowed && refused?.nonRetryable == true, "\(String(describing: refused))")
        #expect(refused?.message.contains("LP_ALLOWED_SERVICE_ROOTS") == true, "\(refused?.message ?? "")")
        #expect(throws: Never.self) {
            _ = try configuration(
                "https://internal.corp.example/admin/", ["LP_ALLOWED_SERVICE_ROOTS": "https://internal.corp.example/admin/"])
        }
        for root in ["https://internal.corp.example/admin?x=", "https://a@evil.example@api.launchpad.net/", "https://host/#x"] {
            let error = #expect(throws: ETLError.self, "\(root)") {
                _ = try configuration(root, ["LP_ALLOWED_SERVICE_ROOTS": "production", "LP_CREDENTIAL_HOSTS": "host"])
            }
            #expect(error?.code == .serviceRootNotAllowed, "\(root): \(String(describing: error))")
            // Parsing takes it still: workflow code parses on every replay, and a run started
            // with such a root replays as it ran (it fails at its next request).
            #expect(try ServiceRoot(root).refusal != nil, "\(root)")
        }
        #expect(ServiceRoot.named.keys.allSatisfy { (try? ServiceRoot($0))?.refusal == nil })
    }

    @Test func theOperatorCanRestrictServiceRoots() throws {
        let query = try LaunchpadQuery(
            applicationName: "etl-app", serviceRoot: "http://127.0.0.1:8085/", version: "devel", member: "alice-example",
            dataDateStart: "2024-03-01", dataDateEnd: "2024-03-31")
        let error = #expect(throws: ETLError.self) {
            try LaunchpadClientConfiguration(query: query, environment: ["LP_ALLOWED_SERVICE_ROOTS": "production, staging"])
        }
        #expect(error?.code == .serviceRootNotAllowed)
        #expect(error?.nonRetryable == true)
        #expect(error?.message.contains("https://api.launchpad.net/") == true)
        #expect(throws: Never.self) {
            try LaunchpadClientConfiguration(query: query, environment: ["LP_ALLOWED_SERVICE_ROOTS": "production,http://127.0.0.1:8085/"])
        }
        let bad = #expect(throws: ETLError.self) {
            try LaunchpadClientConfiguration(query: query, environment: ["LP_ALLOWED_SERVICE_ROOTS": "nowhere"])
        }
        #expect(bad?.code == .invalidConfiguration)
    }
}
