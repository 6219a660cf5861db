import Foundation
import Synchronization
import TemporalTestSupport
import Testing

@testable import LaunchpadETL
@testable import LaunchpadFixture

/// The transport as a client of a real service: connections kept and shared, HTTP/2 streams
/// on one TLS connection where the server offers it, cancellation.
@Suite(.serialized) struct HTTPTransportTests {
    /// carol-busy's March (hundreds of requests) through `client`: the event ids.
    func extractCarol(_ client: LaunchpadClient, serviceRoot: String) async throws -> Set<String> {
        let directory = try TemporaryDirectory()
        let store = try SQLiteEventStore(path: directory.file("events.db"))
        let extractor = try LaunchpadExtractor(query: try marchQuery("carol-busy", serviceRoot: serviceRoot), client: client, store: store)
        _ = try await extractor.run(batchId: "carol")
        return Set(try await store.stagedEvents("carol").map(\.id))
    }

    func client(
        serviceRoot: String, caFile: String? = nil, reuse: Bool = true, adjust: (inout LaunchpadClientConfiguration) -> Void = { _ in }
    ) throws -> LaunchpadClient {
        var configuration = LaunchpadClientConfiguration(
            serviceRoot: try ServiceRoot(serviceRoot), version: "devel", applicationName: "lpetl-tests")
        configuration.caFile = caFile
        configuration.reuseConnections = reuse
        configuration.connectTimeout = .seconds(5)
        adjust(&configuration)
        return LaunchpadClient(configuration: configuration)
    }

    /// nginx terminating TLS in front of `server`: HTTP/2 offered on `tlsAddress`, HTTP/1.1
    /// only on `http1OnlyAddress`.
    func tlsFront(of server: FixtureServerProcess) async throws -> TLSProxy {
        try await TLSProxy.start(upstream: String(server.serviceRoot.dropFirst("http://".count).dropLast()), kind: .http)
    }

    /// The fixture checks OAuth as Launchpad does (over TLS, the only way the client sends
    /// credentials): a token works only with the consumer it was issued to and its own secret;
    /// anything else is a 401 that is not retried, and the message names the consumer key but not
    /// the token, which Launchpad's refusal names. (An
    /// earlier release signed member runs with another consumer's key, so Launchpad refused every
    /// request of theirs; no fixture test could see it.)
    @Test(.enabled(if: TLSProxy.isAvailable, "needs nginx and openssl (scripts/test installs them)"))
    func launchpadChecksTheTokenItsSecretAndItsConsumer() async throws {
        let server = try await startFixture()
        let proxy = try await tlsFront(of: server)
        defer { proxy.stop() }
        let root = "https://\(proxy.tlsAddress)/"
        let issued = FixtureDataset.accessToken
        func signed(_ consumer: String, _ token: String, _ secret: String) throws -> LaunchpadClient {
            try client(serviceRoot: root, caFile: proxy.path.ca) {
                $0.credentials = .oauth(consumerKey: consumer, consumerSecret: "", token: token, tokenSecret: secret)
                $0.accessPolicy = LaunchpadAccessPolicy(credentialHosts: [proxy.tlsAddress])
            }
        }
        let person = try await signed(issued.consumerKey, issued.token, issued.secret).person(named: "alice-example")
        #expect(person["display_name"]?.stringValue == "Alice Example")
        for (consumer, token, secret, reason) in [
            ("another-app", issued.token, issued.secret, "Unknown consumer (another-app)."),
            (issued.consumerKey, "never-issued-token-key", issued.secret, "Unknown access token ([redacted])."),
            (issued.consumerKey, issued.token, "wrong-secret", "Invalid signature."),
        ] {
            let client = try signed(consumer, token, secret)
            let error = await etlError { try await client.person(named: "alice-example") }
            #expect(error?.code == .unauthorized && error?.nonRetryable == true, "\(String(describing: error))")
            #expect(
                error?.message.contains(reason) == true && error?.message.contains("LP_CONSUMER_KEY") == true,
                "\(String(describing: error))")
            // Launchpad names the token in its refusal; errors end up in workflow histories.
            #expect(error?.message.contains(token) == false, "\(String(describing: error))")
            #expect(client.requestCount == 1, "a refused token is not retried")
        }
    }

    /// An extraction with the credentials reads with them; one read anonymously says so in its
    /// result (public data only; the flow's summary then carries `launchpad_access`), also when
    /// an attempt with the credentials resumed it: the checkpoint keeps it.
    @Test(.enabled(if: TLSProxy.isAvailable, "needs nginx and openssl (scripts/test installs them)"))
    func anExtractionSaysWhetherItReadAnonymously() async throws {
        let server = try await startFixture(["--faults", "500@4"])
        let proxy = try await tlsFront(of: server)
        defer { proxy.stop() }
        let root = "https://\(proxy.tlsAddress)/"
        let issued = FixtureDataset.accessToken
        let signed = try client(serviceRoot: root, caFile: proxy.path.ca) {
            $0.credentials = .oauth(consumerKey: issued.consumerKey, consumerSecret: "", token: issued.token, tokenSecret: issued.secret)
            $0.accessPolicy = LaunchpadAccessPolicy(credentialHosts: [proxy.tlsAddress])
        }
        let directory = try TemporaryDirectory()
        let store = try SQLiteEventStore(path: directory.file("events.db"))
        let query = try marchQuery("alice-example", serviceRoot: root)
        // The fixture's 4th request fails: the anonymous attempt stops there, one try only.
        let anonymous = try client(serviceRoot: root, caFile: proxy.path.ca) {
            $0.retry = HTTPRetryPolicy(
                maxAttempts: 1, initialDelay: .milliseconds(50), maxDelay: .milliseconds(400), maxRetryAfter: .seconds(2))
        }
        await #expect(throws: ETLError.self) {
            _ = try await LaunchpadExtractor(query: query, client: anonymous, store: store).run(batchId: "anonymous-first")
        }
        let stored = try #require(try await store.loadCheckpoint(batchId: "anonymous-first"))
        #expect(stored.readAnonymously == true)
        let resumed = try await LaunchpadExtractor(query: query, client: signed, store: store).run(
            batchId: "anonymous-first", resumeFrom: stored)
        #expect(resumed.readAnonymously == true)
        #expect(try await LaunchpadExtractor(query: query, client: signed, store: store).run(batchId: "oauth").readAnonymously == nil)
    }

    @Test func keptConnectionsOverHTTP1AreAtMostOnePerConcurrentRequest() async throws {
        let server = try await startFixture(["--latency-ms", "2"])
        let client = try client(serviceRoot: server.serviceRoot)
        let ids = try await extractCarol(client, serviceRoot: server.serviceRoot)
        #expect(ids.count == FixtureDataset.carolMarch2024EventCount)
        #expect(client.requestCount > 500)
        #expect(client.connectionCount >= 1 && client.connectionCount <= 4)
        #expect(client.http2ResponseCount == 0)
    }

    /// A page whose body arrives too slowly to be read within the request timeout (a slow link,
    /// a heavy page) is asked for in smaller pages, as one the server does not answer in time:
    /// the same size was asked for again and again, and the page could never be read.
    @Test func aPageTooSlowToArriveIsAskedForInSmallerPages() async throws {
        let server = try HeaderRecorder(bytesPerSecond: 8_000) { head, _ in
            guard head.hasPrefix("GET /devel/slow?") else { return nil }
            // ~100 bytes an entry: 300 take about 4 s at 8 kB/s, 150 about 2 s.
            let size = head.firstRange(of: "ws.size=").map { head[$0.upperBound...].prefix { $0.isNumber } }.flatMap { Int($0) } ?? 75
            let pad = String(repeating: "x", count: 80)
            let entries = (0..<size).map { #"{"id": \#($0), "pad": "\#(pad)"}"# }.joined(separator: ", ")
            let json = #"{"start": 0, "total_size": \#(size), "entries": [\#(entries)]}"#
            return
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(json.utf8.count)\r\nConnection: close\r\n\r\n\(json)"
        }
        var configuration = LaunchpadClientConfiguration(serviceRoot: try ServiceRoot(server.root), applicationName: "lpetl-tests")
        configuration.requestTimeout = .seconds(3)
        configuration.retry = HTTPRetryPolicy(
            maxAttempts: 4, initialDelay: .milliseconds(20), maxDelay: .milliseconds(50), maxRetryAfter: .seconds(1))
        let client = LaunchpadClient(configuration: configuration)
        let page = try await client.page(server.root + "devel/slow?ws.size=300")
        // Halved once (or twice, should a loaded box send the 150 too slowly as well).
        #expect([150, 75].contains(page.entries.count), "\(page.entries.count)")
    }

    /// Empty pages that keep linking on past what the listing counts (a proxy or a broken
    /// server making up pages) end the read with an error: every link was new and further on,
    /// so the read never ended.
    @Test func emptyPagesLinkingOnPastTheCountEndTheRead() async throws {
        let server = try HeaderRecorder { head, port in
            guard head.hasPrefix("GET /devel/endless") else { return nil }
            let start = head.firstRange(of: "ws.start=").map { head[$0.upperBound...].prefix { $0.isNumber } }.flatMap { Int($0) } ?? 0
            let next = "http://127.0.0.1:\(port)/devel/endless?ws.size=75&memo=\(start + 75)&ws.start=\(start + 75)"
            let json = #"{"start": \#(start), "total_size": 3, "entries": [], "next_collection_link": "\#(next)"}"#
            return
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(json.utf8.count)\r\nConnection: close\r\n\r\n\(json)"
        }
        let client = LaunchpadClient(
            configuration: LaunchpadClientConfiguration(serviceRoot: try ServiceRoot(server.root), applicationName: "lpetl-tests"))
        let error = await etlError { _ = try await client.collection(server.root + "devel/endless") }
        #expect(error?.code == .malformedResponse && error?.message.contains("past the 3 entries") == true, "\(String(describing: error))")
        #expect(client.requestCount < 20, "\(client.requestCount) pages")
    }

    /// Changes of the permits apply in the order the client decided them, whatever order they
    /// reach the semaphore in: a raise decided after a lowering but arriving first was undone
    /// by it, or the other way round (8 permits left over HTTP/1.1). New API: the race itself
    /// cannot be made to happen at will.
    @Test func permitChangesApplyInTheOrderDecided() async {
        let permits = AsyncSemaphore(permits: 4)
        await permits.set(to: 4, generation: 2)  // decided second (back to HTTP/1.1), arrives first
        await permits.set(to: 8, generation: 1)  // decided first (HTTP/2), arrives late
        #expect(await permits.permits == 4)
        await permits.set(to: 8, generation: 3)
        #expect(await permits.permits == 8)
    }

    /// The permits go back down when answers come over HTTP/1.1 again (a front end changed, a
    /// proxy): requests beyond libcurl's connection limit waited inside it with their timeouts
    /// running. Held permits are not taken back; no one gets in until enough are released.
    @Test func permitsLoweredLetNoOneInUntilEnoughAreReleased() async throws {
        let permits = AsyncSemaphore(permits: 2)
        await permits.raise(to: 4)
        for _ in 0..<4 { await permits.acquire() }
        await permits.lower(to: 2)
        #expect(await permits.permits == 2)
        let entered = Atomic<Bool>(false)
        let waiter = Task {
            await permits.acquire()
            entered.store(true, ordering: .relaxed)
        }
        await permits.release()
        await permits.release()  // 2 held: as many as the permits
        for _ in 0..<50 { await Task.yield() }
        let early = entered.load(ordering: .relaxed)
        #expect(!early, "a waiter got in with the permits all held")
        await permits.release()
        await waiter.value
        let late = entered.load(ordering: .relaxed)
        #expect(late)
    }

    @Test(.enabled(if: TLSProxy.isAvailable, "needs nginx and openssl (scripts/test installs them)"))
    func overTLSRequestsAreStreamsOfOneHTTP2Connection() async throws {
        let server = try await startFixture()
        let proxy = try await tlsFront(of: server)
        defer { proxy.stop() }
        let plain = try await extractCarol(try client(serviceRoot: server.serviceRoot), serviceRoot: server.serviceRoot)

        let http2Root = "https://\(proxy.tlsAddress)/"
        let http2 = try client(serviceRoot: http2Root, caFile: proxy.path.ca)
        #expect(try await extractCarol(http2, serviceRoot: http2Root) == plain)
        #expect(http2.http2ResponseCount == http2.requestCount)
        #expect(http2.connectionCount == 1)  // one TCP connection, one TLS handshake
        // Once the server speaks HTTP/2, more requests may be in flight (they cost no connection).
        #expect(await http2.concurrencyLimit == http2.configuration.maxConcurrentRequestsOverHTTP2)
        // Never fewer than the connections allowed over HTTP/1.1 (LP_MAX_CONCURRENT_REQUESTS 12
        // beside the default 8 streams): the first HTTP/2 answer cut the permits to 8.
        let wide = try client(serviceRoot: http2Root, caFile: proxy.path.ca) { $0.maxConcurrentRequests = 12 }
        #expect(try await extractCarol(wide, serviceRoot: http2Root) == plain)
        #expect(await wide.concurrencyLimit == 12)

        // The same front end without HTTP/2: kept HTTP/1.1 connections, one per request in flight.
        let http1Root = "https://\(proxy.http1OnlyAddress)/"
        let http1 = try client(serviceRoot: http1Root, caFile: proxy.path.ca)
        #expect(try await extractCarol(http1, serviceRoot: http1Root) == plain)
        #expect(http1.http2ResponseCount == 0)
        #expect(http1.connectionCount >= 1 && http1.connectionCount <= http1.configuration.maxConcurrentRequests)
        #expect(await http1.concurrencyLimit == http1.configuration.maxConcurrentRequests)
    }

    @Test(.enabled(if: TLSProxy.isAvailable, "needs nginx and openssl (scripts/test installs them)"))
    func http2StreamsSurviveFaultsAndStalls() async throws {
        // 5 % of requests fail (503, 502, 500, a body cut short, a 2 s stall that times out):
        // on one multiplexed connection a failing stream must not take the others with it.
        let clean = try await startFixture()
        let plain = try await extractCarol(try client(serviceRoot: clean.serviceRoot), serviceRoot: clean.serviceRoot)
        let server = try await startFixture([
            "--fault-rate", "0.05", "--fault-kinds", "503,502,500,truncate,stall", "--retry-after", "0", "--stall-ms", "2000",
            "--seed", "11",
        ])
        let proxy = try await tlsFront(of: server)
        defer { proxy.stop() }
        let root = "https://\(proxy.tlsAddress)/"
        let client = try client(serviceRoot: root, caFile: proxy.path.ca) {
            $0.requestTimeout = .milliseconds(800)
            $0.retry = HTTPRetryPolicy(
                maxAttempts: 8, initialDelay: .milliseconds(20), maxDelay: .milliseconds(200), maxRetryAfter: .seconds(1))
        }
        #expect(try await extractCarol(client, serviceRoot: root) == plain)
        #expect(client.retryCount > 10)
        #expect(client.http2ResponseCount > 0)
        // Streams share a connection; a reset may cost a new one, and so does a stall's timeout
        // (the retry cannot tell a slow server from a connection that died).
        #expect(client.connectionCount * 10 < client.requestCount, "\(client.connectionCount) of \(client.requestCount)")
    }

    /// A client of the fixture behind TLS (HTTP/2) and a relay that can go silent, with a 2 s
    /// request timeout and quick retries; `stop` ends the relay and the TLS front.
    func relayedClient() async throws -> (client: LaunchpadClient, relay: LatencyProxy, root: String, stop: @Sendable () -> Void) {
        let server = try await startFixture()
        let tls = try await tlsFront(of: server)
        let tlsPort = try #require(tls.tlsAddress.split(separator: ":").last.flatMap { Int($0) })
        let relay = try LatencyProxy(upstreamPort: tlsPort, oneWayDelay: .zero)
        let root = "https://127.0.0.1:\(relay.port)/"
        let client = try client(serviceRoot: root, caFile: tls.path.ca) {
            $0.requestTimeout = .seconds(2)
            $0.retry = HTTPRetryPolicy(
                maxAttempts: 4, initialDelay: .milliseconds(20), maxDelay: .milliseconds(100), maxRetryAfter: .seconds(1))
        }
        return (
            client, relay, root,
            {
                withExtendedLifetime(server) {
                    relay.stop()
                    tls.stop()
                }
            }
        )
    }

    /// A kept connection can die without a word (a NAT mapping or a load balancer's idle entry
    /// dropped): requests on it get no answer. libcurl keeps an HTTP/2 connection after one of
    /// its streams timed out, so every retry went to the dead connection again, and two
    /// timeouts in a row were taken for a heavy page: it was asked for in ever smaller pages
    /// until the request failed. A timeout on a reused connection makes the retry, and every
    /// request after it, use a connection made since.
    @Test(.enabled(if: TLSProxy.isAvailable, "needs nginx and openssl (scripts/test installs them)"))
    func aConnectionThatDiedSilentlyIsLeftAfterATimeout() async throws {
        let (client, relay, root, stop) = try await relayedClient()
        defer { stop() }
        _ = try await client.person(named: "alice-example")
        #expect(client.connectionCount == 1 && client.http2ResponseCount == 1)
        relay.silenceOpenConnections()
        let page = try await client.page("\(root)devel/~example-team/members?ws.size=50")
        #expect(!page.entries.isEmpty)
        #expect(client.retryCount == 1, "one timeout on the dead connection, then a new one")
        _ = try await client.person(named: "bob-example")
        #expect(client.connectionCount == 2)
        #expect(client.requestCount == 4)
    }

    /// Requests sent while others still wait on a connection that died silently (HTTP/2: many
    /// streams on one connection) go on new connections once one of them timed out: libcurl
    /// looks at a connection's age only while it is idle, so each new request joined the dead
    /// connection while any stream was left on it, and timed out in turn.
    @Test(.enabled(if: TLSProxy.isAvailable, "needs nginx and openssl (scripts/test installs them)"))
    func requestsLeaveADeadConnectionStillCarryingStreams() async throws {
        let (client, relay, _, stop) = try await relayedClient()
        defer { stop() }
        _ = try await client.person(named: "alice-example")
        #expect(client.http2ResponseCount == 1)
        relay.silenceOpenConnections()
        let first = Task { try await client.person(named: "alice-example") }
        try await Task.sleep(for: .seconds(1))
        let second = Task { try await client.person(named: "bob-example") }  // on the dead connection too
        _ = try await first.value  // timed out, then answered on a new connection
        // The second still waits on the dead connection: this one must not join it.
        _ = try await client.person(named: "carol-busy")
        _ = try await second.value
        // The first two timed out once each (or only the first, should the second start late,
        // on the new connection); the third went elsewhere. Before: 3.
        #expect(client.retryCount <= 2, "\(client.retryCount) retries")
    }

    /// What no retry changes fails for good at once: a CA file that does not load. Before, the
    /// error was retryable, and the activity tried again until the extraction was taken for
    /// stalled. A certificate that does not verify is not retried by the client, but may be by
    /// the activity: a worker clock far off says that too, and clocks get fixed.
    @Test(.enabled(if: TLSProxy.isAvailable, "needs nginx and openssl (scripts/test installs them)"))
    func aRequestNoRetryCanChangeFailsForGood() async throws {
        let server = try await startFixture()
        let proxy = try await tlsFront(of: server)
        defer { proxy.stop() }
        let root = "https://\(proxy.tlsAddress)/"
        let badFile = try client(serviceRoot: root, caFile: "/nonexistent/ca.pem")
        let refused = await etlError { try await badFile.person(named: "alice-example") }
        #expect(refused?.code == .transport && refused?.nonRetryable == true, "\(String(describing: refused))")
        #expect(badFile.requestCount == 1)
        let unverified = try client(serviceRoot: root)  // the system's CAs: not the test's
        let error = await etlError { try await unverified.person(named: "alice-example") }
        #expect(error?.code == .transport && error?.nonRetryable == false, "\(String(describing: error))")
        #expect(error?.message.contains("libcurl error 60") == true, "\(String(describing: error))")
        #expect(unverified.requestCount == 1)
    }

    @Test(.enabled(if: TLSProxy.isAvailable, "needs nginx and openssl (scripts/test installs them)"))
    func withoutReuseEveryRequestPaysItsOwnHandshake() async throws {
        let server = try await startFixture()
        let proxy = try await tlsFront(of: server)
        defer { proxy.stop() }
        let root = "https://\(proxy.tlsAddress)/"
        let client = try client(serviceRoot: root, caFile: proxy.path.ca, reuse: false)
        for name in ["alice-example", "bob-example", "carol-busy"] {
            _ = try await client.person(named: name)
        }
        #expect(client.requestCount == 3)
        #expect(client.connectionCount == 3)
    }

    @Test func cancellingTheCallerAbortsItsTransfer() async throws {
        // The first request (the person lookup) stalls for 20 s; the caller is cancelled after 300 ms.
        let server = try await startFixture(["--faults", "stall@1", "--stall-ms", "20000"])
        let client = try fixtureClient(server, requestTimeout: .seconds(30), maxAttempts: 1)
        let clock = ContinuousClock()
        let started = clock.now
        let call = Task { try await client.person(named: "bob-example") }
        try await Task.sleep(for: .milliseconds(300))
        call.cancel()
        let outcome = await call.result
        guard case .failure(let error as ETLError) = outcome else {
            Issue.record("expected a failure, got \(outcome)")
            return
        }
        #expect(error.message.contains("cancelled"))
        #expect(clock.now - started < .seconds(10))
        // The same client still works afterwards (its multi handle and thread carry on).
        #expect(try await client.person(named: "alice-example")["name"]?.stringValue == "alice-example")
    }

    @Test func concurrencyComesFromTheEnvironmentAndBadValuesAreClearErrors() throws {
        let query = try marchQuery("alice-example", serviceRoot: "production")
        let defaults = try LaunchpadClientConfiguration(query: query, environment: [:])
        #expect(defaults.maxConcurrentRequests == 4 && defaults.maxConcurrentRequestsOverHTTP2 == 8)
        #expect(defaults.reviewTargetLimit == ReviewTargets.defaultLimit)
        let set = try LaunchpadClientConfiguration(
            query: query,
            environment: ["LP_MAX_CONCURRENT_REQUESTS": "2", "LP_MAX_CONCURRENT_STREAMS": " 16 ", "LP_REVIEW_TARGETS": "60"])
        #expect(set.maxConcurrentRequests == 2 && set.maxConcurrentRequestsOverHTTP2 == 16)
        #expect(set.reviewTargetLimit == 60)
        // Blank is unset, as for every variable (a value of spaces or a line break was an error).
        let blank = try LaunchpadClientConfiguration(
            query: query,
            environment: [
                "LP_MAX_CONCURRENT_REQUESTS": " ", "LP_MAX_CONCURRENT_STREAMS": "\n", "LP_REVIEW_TARGETS": " ", "LP_MAX_RETRY_AFTER": " ",
            ])
        #expect(blank.maxConcurrentRequests == 4 && blank.reviewTargetLimit == ReviewTargets.defaultLimit)
        let directory = try TemporaryDirectory()
        let store = try SQLiteEventStore(path: directory.file("events.db"))
        #expect(try LaunchpadExtractor(query: query, client: LaunchpadClient(configuration: set), store: store).reviewTargetLimit == 60)
        for (name, value) in [
            ("LP_MAX_CONCURRENT_REQUESTS", "many"), ("LP_MAX_CONCURRENT_STREAMS", "0"), ("LP_MAX_CONCURRENT_STREAMS", "500"),
            ("LP_REVIEW_TARGETS", "-1"), ("LP_REVIEW_TARGETS", "all"),
        ] {
            do {
                _ = try LaunchpadClientConfiguration(query: query, environment: [name: value])
                Issue.record("\(name)=\(value) was accepted")
            } catch {
                #expect(error.code == .invalidConfiguration)
                #expect(error.message.contains(name) && error.message.contains("'\(value)'"))
            }
        }
    }
}
