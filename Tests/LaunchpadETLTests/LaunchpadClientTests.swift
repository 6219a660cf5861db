import Foundation
import Testing

@testable import LaunchpadETL
@testable import LaunchpadFixture

@Suite(.serialized) struct LaunchpadClientTests {
    @Test func collectionFollowsEveryPage() async throws {
        let server = try await startFixture()
        let client = try fixtureClient(server, pageSize: 7)
        let url = LaunchpadURL.make(
            base: client.apiBase, path: "bugs", operation: "searchTasks",
            parameters: [
                ("bug_reporter", .string(client.apiBase + "~carol-busy")), ("status", .list(LaunchpadExtractor.allBugStatuses)),
                ("omit_duplicates", .bool(false)), ("order_by", .list(["id"])),
            ])
        let entries = try await client.collection(url)
        #expect(entries.count == 310)
        #expect(Set(entries.compactMap { $0["bug_link"]?.stringValue }).count == 310)
        #expect(client.requestCount == 45)  // ceil(310 / 7) pages, never just the first
        let first = try await client.page(client.firstPageURL(url))
        #expect(first.nextLink?.contains("ws.start=7") == true)
        #expect(first.totalSize == nil)  // devel named ops give total_size_link until the last page
    }

    /// A page over the response size limit (hundreds of long comments at 300 a page) is asked
    /// for again in smaller pages, as a page too heavy for Launchpad is: it failed the read for
    /// good (a permanent transport failure), though smaller pages fit.
    @Test func aPageOverTheSizeLimitIsReadInSmallerPages() async throws {
        let server = try await startFixture()
        let url = try fixtureClient(server).apiBase + "bugs/3100000/messages"
        let whole = try await fixtureClient(server, pageSize: 300).get(url + "?ws.size=300")
        var configuration = LaunchpadClientConfiguration(serviceRoot: try ServiceRoot(server.serviceRoot), applicationName: "lpetl-tests")
        configuration.pageSize = 300
        configuration.maxResponseBytes = whole.serialized().utf8.count / 3  // 75 a page fits, 150 may not
        configuration.retry = HTTPRetryPolicy(
            maxAttempts: 3, initialDelay: .milliseconds(20), maxDelay: .milliseconds(50), maxRetryAfter: .seconds(1))
        let client = LaunchpadClient(configuration: configuration)
        let entries = try await client.collection(url)
        #expect(entries.count == 321)
        #expect(Set(entries.compactMap { $0["self_link"]?.stringValue }).count == 321)
    }

    @Test func unknownMemberIsAClearNonRetryableError() async throws {
        let server = try await startFixture()
        let client = try fixtureClient(server)
        let error = await etlError { try await client.person(named: "nobody-here") }
        #expect(error?.code == .unknownMember)
        #expect(error?.nonRetryable == true)
        #expect(error?.message.contains("no Launchpad person named 'nobody-here'") == true)
        let person = try await client.person(named: "alice-example")
        #expect(person["display_name"]?.stringValue == "Alice Example")
    }

    @Test func serviceUnavailableIsRetriedHonouringRetryAfter() async throws {
        let server = try await startFixture(["--faults", "503@1x2", "--retry-after", "1"])
        let client = try fixtureClient(server)
        let clock = ContinuousClock()
        let started = clock.now
        let person = try await client.person(named: "alice-example")
        #expect(person["name"]?.stringValue == "alice-example")
        #expect(client.retryCount == 2)
        #expect(clock.now - started >= .milliseconds(1900))
    }

    @Test func retriesGiveUpWithAClearRetryableError() async throws {
        let server = try await startFixture(["--faults", "503@1x10", "--retry-after", "0"])
        let client = try fixtureClient(server, maxAttempts: 3)
        let error = await etlError { try await client.person(named: "alice-example") }
        #expect(error?.code == .unavailable)
        #expect(error?.nonRetryable == false)
        #expect(error?.message.contains("gave up after 3 attempts") == true)
    }

    @Test func anInternalServerErrorIsRetried() async throws {
        let server = try await startFixture(["--faults", "500@1"])
        let client = try fixtureClient(server)
        let person = try await client.person(named: "alice-example")
        #expect(person["name"]?.stringValue == "alice-example")
        #expect(client.retryCount == 1)
    }

    @Test func internalServerErrorHTMLBecomesAClearError() async throws {
        let server = try await startFixture(["--faults", "500@1x10"])
        let client = try fixtureClient(server, maxAttempts: 3)
        let error = await etlError { try await client.person(named: "alice-example") }
        #expect(error?.code == .serverError)
        #expect(error?.nonRetryable == false)
        #expect(error?.message.contains("OOPS-FIXTURE") == true)
        #expect(error?.message.contains("Sorry, something just went wrong") == true)
        #expect(error?.message.contains("<html") == false)
        #expect(error?.message.contains("gave up after 3 attempts") == true)
        #expect(client.retryCount == 2)
    }

    @Test func aTruncatedBodyIsFetchedAgain() async throws {
        let server = try await startFixture(["--faults", "truncate@1"])
        let client = try fixtureClient(server)
        let person = try await client.person(named: "alice-example")
        #expect(person["name"]?.stringValue == "alice-example")
        #expect(client.retryCount == 1)
    }

    @Test func truncatedJSONReportsURLAndByteOffset() async throws {
        let server = try await startFixture(["--faults", "truncate@1x10"])
        let client = try fixtureClient(server, maxAttempts: 2)
        let error = await etlError { try await client.person(named: "alice-example") }
        #expect(error?.code == .malformedResponse)
        #expect(error?.nonRetryable == false)
        #expect(error?.message.contains(server.serviceRoot + "devel/~alice-example") == true)
        #expect(error?.message.contains("byte offset") == true)
        #expect(error?.message.contains("gave up after 2 attempts") == true)
    }

    @Test func aSuspendedAccountIsItsOwnNonRetryableError() async throws {
        let server = try await startFixture()
        let client = try fixtureClient(server)
        let error = await etlError { try await client.person(named: "erin-suspended") }
        #expect(error?.code == .memberGone)
        #expect(error?.nonRetryable == true)
        #expect(error?.message.contains("'erin-suspended'") == true)
        #expect(error?.message.contains("is suspended (HTTP 410") == true)
        #expect(error?.message.contains("no Launchpad person") == false)
        #expect(ETLError.nonRetryableTypes.contains("LaunchpadAccountGone"))
    }

    @Test func stallTimesOutThenRetries() async throws {
        // 2 s for a request: the retry (a new connection to a fixture process) took over 700 ms
        // on a loaded box and was retried once more.
        let server = try await startFixture(["--faults", "stall@1", "--stall-ms", "10000"])
        let client = try fixtureClient(server, requestTimeout: .seconds(2))
        let person = try await client.person(named: "bob-example")
        #expect(person["name"]?.stringValue == "bob-example")
        #expect(client.retryCount == 1)
    }

    @Test func badRequestIsNonRetryable() async throws {
        let server = try await startFixture()
        let client = try fixtureClient(server)
        let error = await etlError { try await client.get(client.apiBase + "~alice-example?ws.op=frobnicate") }
        #expect(error?.code == .badRequest)
        #expect(error?.nonRetryable == true)
        #expect(error?.message.contains("No such operation: frobnicate") == true)
        let bare = await etlError { try await client.get(client.apiBase + "bugs?ws.op=searchTasks&assignee=alice-example") }
        #expect(bare?.message.contains("not a valid URI") == true)
    }

    @Test func oauthPlaintextHeaderAndCredentialSources() throws {
        let credentials = try LaunchpadCredentials.fromEnvironment(
            ["LP_ACCESS_TOKEN": "AbCdEf123", "LP_ACCESS_SECRET": "s3cr3t&T0ken"], applicationName: "my-etl-app")
        let header = try #require(credentials.authorizationHeader(nonce: "42", timestamp: 1_700_000_000))
        #expect(header.hasPrefix("OAuth realm=\"OAuth\""))
        #expect(header.contains("oauth_signature_method=\"PLAINTEXT\""))
        #expect(header.contains("oauth_consumer_key=\"my-etl-app\""))
        #expect(header.contains("oauth_signature=\"%26s3cr3t%2526T0ken\""))
        #expect(!credentials.description.contains("s3cr3t"))
        #expect(!credentials.description.contains("AbCdEf123"))
        #expect(try LaunchpadCredentials.fromEnvironment([:], applicationName: "x") == .anonymous)
        #expect(throws: ETLError.self) { try LaunchpadCredentials.fromEnvironment(["LP_ACCESS_TOKEN": "t"], applicationName: "x") }
        // Values mounted from files end with a newline: trimmed, as the credentials file's are.
        #expect(
            try LaunchpadCredentials.fromEnvironment(
                ["LP_ACCESS_TOKEN": "tok\n", "LP_ACCESS_SECRET": " s3cret\r\n", "LP_CONSUMER_KEY": "app\n"], applicationName: "x")
                == .oauth(consumerKey: "app", consumerSecret: "", token: "tok", tokenSecret: "s3cret"))
        #expect(
            try LaunchpadCredentials.fromEnvironment(["LP_ACCESS_TOKEN": "\n", "LP_ACCESS_SECRET": " "], applicationName: "x") == .anonymous
        )

        let directory = try TemporaryDirectory()
        let file = directory.file("creds")
        try "[1]\nconsumer_key = my-etl-app\nconsumer_secret =\naccess_token = AbCdEf123\naccess_secret = s3cr3tT0ken\n".write(
            toFile: file, atomically: true, encoding: .utf8)
        #expect(
            try LaunchpadCredentials.fromEnvironment(["LP_CREDENTIALS_FILE": file], applicationName: "x")
                == .oauth(consumerKey: "my-etl-app", consumerSecret: "", token: "AbCdEf123", tokenSecret: "s3cr3tT0ken"))
    }

    @Test func retryPolicyBackoff() {
        let policy = HTTPRetryPolicy(
            maxAttempts: 6, initialDelay: .milliseconds(100), maxDelay: .seconds(1), maxRetryAfter: .seconds(30), jitter: 0)
        #expect(policy.delay(beforeRetry: 1, retryAfterSeconds: nil) == .milliseconds(100))
        #expect(policy.delay(beforeRetry: 3, retryAfterSeconds: nil) == .milliseconds(400))
        #expect(policy.delay(beforeRetry: 9, retryAfterSeconds: nil) == .seconds(1))
        #expect(policy.delay(beforeRetry: 1, retryAfterSeconds: 900) == .seconds(30))
        #expect(policy.delay(beforeRetry: 1, retryAfterSeconds: 2) == .seconds(2))
    }
}
