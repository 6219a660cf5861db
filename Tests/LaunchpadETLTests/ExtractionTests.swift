import Foundation
import Testing

@testable import LaunchpadETL
@testable import LaunchpadFixture

@Suite(.serialized) struct ExtractionTests {
    static let aliceExpected: [String: String] = [
        "b-2056789-c": "bug:created", "b-2056789-m2": "bug:commented", "b-2056789-a1": "bug:status_changed",
        "b-2056789-a2": "bug:importance_changed", "b-2056789-a3": "bug:assigned", "b-2056789-a5": "bug:status_changed",
        "b-2056789-a6": "bug:updated",
        "b-2057001-c": "bug:created", "b-1990001-m1": "bug:commented", "b-1990001-a1": "bug:status_changed",
        "b-2055000-m1": "bug:commented", "b-2059000-c": "bug:created",
        "mp-462815-c": "merge_proposal:created", "mp-462815-rq1709623682": "merge_proposal:review_requested",
        "mp-462815-m1710249527": "merge_proposal:merged", "mp-462815-c1255001": "merge_proposal:commented",
        "mp-470001-r1710496800": "merge_proposal:reviewed", "mp-470001-v1260001": "merge_proposal:voted",
        "mp-450000-c1250000": "merge_proposal:commented",
        "q-800001-c": "question:created", "q-800001-s2": "question:solved", "q-800002-a1": "question:answered",
        "q-800002-m2": "question:commented", "q-800003-m1": "question:commented",
    ]

    /// A bug converted to a question: Launchpad's `createQuestionFromBug` gives the question the
    /// bug's owner, title and creation time, and copies its last comment (owner and time). Read
    /// as acts, the creation and the comment counted twice, once as the bug's and once as the
    /// question's. The question's copies are left out; the conversion itself is the member's
    /// act (`bug:updated`, "converted to question").
    @Test func aBugConvertedToAQuestionCountsItsCreationAndLastCommentOnce() async throws {
        let server = try await startFixture()
        let directory = try TemporaryDirectory()
        let database = try SQLiteEventStore(path: directory.file("events.db"))
        let extractor = try LaunchpadExtractor(
            query: try marchQuery("paul-converter", serviceRoot: server.serviceRoot), client: try fixtureClient(server), store: database)
        let result = try await extractor.run(batchId: "paul")
        _ = try await database.loadStagedBatch(result.batch)
        let events = Dictionary(uniqueKeysWithValues: try await database.events(employeeId: "paul-converter").map { ($0.id, $0.type) })
        // Bug 4300002 was reported in February: its question's creation is outside the window,
        // and the copy of its March comment is told by the bug's conversion row. Bug 4300003
        // someone else converted: the copy of paul's comment is told by its instant, that of
        // his comment on a bug (before, it counted twice).
        #expect(
            events == [
                "b-4300001-c": "bug:created", "b-4300001-m1": "bug:commented", "b-4300001-a1": "bug:updated",
                "b-4300002-m1": "bug:commented", "b-4300002-a1": "bug:updated", "b-4300003-m1": "bug:commented",
            ], "\(events)")
    }

    @Test func everyEventTypeAcrossPagesWithExactRowsAndNoDuplicatesOnRerun() async throws {
        let server = try await startFixture()
        let directory = try TemporaryDirectory()
        let database = try SQLiteEventStore(path: directory.file("events.db"))
        let client = try fixtureClient(server, pageSize: 2)
        let extractor = try LaunchpadExtractor(
            query: try marchQuery("alice-example", serviceRoot: server.serviceRoot), client: client, store: database)
        let recorder = CheckpointRecorder()
        let result = try await extractor.run(batchId: "alice-1") { await recorder.record($0) }
        #expect(result.batch.rowCount == FixtureDataset.aliceMarch2024EventCount)
        #expect(result.skippedPhases.isEmpty)
        #expect(await recorder.checkpoints.last?.phase == .done)
        #expect(await recorder.checkpoints.contains { $0.nextPageLink?.contains("ws.start=2") == true })

        #expect(try await database.loadStagedBatch(result.batch) == 24)
        let events = try await database.events(employeeId: "alice-example")
        #expect(Dictionary(uniqueKeysWithValues: events.map { ($0.id, $0.type) }) == Self.aliceExpected)
        let byId = Dictionary(uniqueKeysWithValues: events.map { ($0.id, $0) })
        let created = try #require(byId["b-2056789-c"])
        #expect(created.parentId == "b-2056789")
        #expect(created.timeUTC == "2024-03-04T09:58:12.904411Z")
        #expect(created.week == "2024-03-04")
        #expect(created.sourceKindId == "launchpad")
        #expect(created.relationProperties["title"] == "DHCP lease not renewed after link flap")
        #expect(byId["b-2057001-c"]?.timeUTC == "2024-03-06T15:11:48Z")
        #expect(byId["b-2055000-m1"]?.timeUTC == "2024-03-01T00:00:00Z")
        #expect(byId["b-2056789-a1"]?.relationProperties["new_value"] == "Confirmed")
        #expect(byId["mp-470001-v1260001"]?.relationProperties["vote"] == "Approve")
        // No merge reporter (Launchpad's scan found the merge): credited to the registrant, saying so.
        #expect(byId["mp-462815-m1710249527"]?.relationProperties["merger_inferred"] == .bool(true))
        #expect(byId["q-800001-s2"]?.week == "2024-03-04")
        #expect(Set(events.map(\.type)) == Set(Self.aliceExpected.values))

        // A second, independent run over the same window adds no rows.
        let again = try await extractor.run(batchId: "alice-2")
        #expect(again.batch.sha256 == result.batch.sha256)
        #expect(try await database.loadStagedBatch(again.batch) == 0)
        #expect(try await database.eventCount() == 24)
    }

    @Test func busyMemberSpansSeveralFullPages() async throws {
        let server = try await startFixture()
        let directory = try TemporaryDirectory()
        let database = try SQLiteEventStore(path: directory.file("events.db"))
        let client = try fixtureClient(server, concurrency: 6)
        let extractor = try LaunchpadExtractor(
            query: try marchQuery("carol-busy", serviceRoot: server.serviceRoot), client: client, store: database)
        let result = try await extractor.run(batchId: "carol")
        #expect(result.batch.rowCount == FixtureDataset.carolMarch2024EventCount)
        #expect(try await database.loadStagedBatch(result.batch) == 981)
        let events = try await database.events(employeeId: "carol-busy")
        let counts = Dictionary(grouping: events, by: \.type).mapValues(\.count)
        #expect(
            counts == [
                "bug:created": 310, "bug:status_changed": 310, "bug:commented": 320, "merge_proposal:created": 12,
                "merge_proposal:review_requested": 12, "merge_proposal:commented": 12, "question:created": 5,
            ])
        #expect(events.contains { $0.id == "b-3100000-m320" })  // on the tracking bug's second page of messages
    }

    @Test func quietMemberAndUnknownMember() async throws {
        let server = try await startFixture()
        let directory = try TemporaryDirectory()
        let database = try SQLiteEventStore(path: directory.file("events.db"))
        let client = try fixtureClient(server)
        let quiet = try await LaunchpadExtractor(
            query: try marchQuery("dave-quiet", serviceRoot: server.serviceRoot), client: client, store: database
        )
        .run(batchId: "dave")
        #expect(quiet.batch.rowCount == 0)
        let unknown = try LaunchpadExtractor(
            query: try marchQuery("nobody-here", serviceRoot: server.serviceRoot), client: client, store: database)
        let error = await etlError { try await unknown.run(batchId: "nobody") }
        #expect(error?.code == .unknownMember)
        #expect(error?.nonRetryable == true)
        #expect(error?.message.contains("no Launchpad person named 'nobody-here'") == true)
    }

    /// An attempt that outlived its timeout starts the batch again — clears it and saves a
    /// checkpoint of its own start, as a first attempt does once its slow start returns — while
    /// the retry is half-way: the retry must stop with a retryable mismatch, not return the
    /// reference of what is left. (Before, it recounted the shortened batch and finished green.)
    @Test func anotherAttemptRestartingTheBatchStopsTheRunningOne() async throws {
        let server = try await startFixture()
        let directory = try TemporaryDirectory()
        let database = try SQLiteEventStore(path: directory.file("events.db"))
        var extractor = try LaunchpadExtractor(
            query: try marchQuery("alice-example", serviceRoot: server.serviceRoot),
            client: try fixtureClient(server, pageSize: 2), store: database)
        extractor.chunkSize = 2
        let recorder = CheckpointRecorder()
        let error = await etlError {
            try await extractor.run(batchId: "wf") { checkpoint in
                await recorder.record(checkpoint)
                // Once, at the first checkpoint with events staged.
                guard checkpoint.rowsSoFar > 0, await recorder.checkpoints.filter({ $0.rowsSoFar > 0 }).count == 1 else { return }
                await Self.restartAsAStaleAttempt(database, "wf", generation: "a-stale-start")
            }
        }
        #expect(error?.code == .stagingMismatch)
        #expect(error?.nonRetryable == false)
        #expect(error?.message.contains("was started again by another attempt") == true)
        #expect(error?.message.contains("a-stale") == true)
        let checkpoints = await recorder.checkpoints
        #expect(checkpoints.last?.rowsSoFar ?? 0 > 0, "the attempt stops at its next checkpoint")
        #expect(checkpoints.filter { $0.rowsSoFar > 0 }.count == 1)
        #expect(checkpoints.last?.phase != .done)
        #expect(try await database.loadCheckpoint(batchId: "wf")?.generation == "a-stale-start", "the other start's checkpoint stays")
    }

    /// The same, after the last checkpoint and before the reference is read, by a start that
    /// stages as many rows again: the count alone cannot tell, the generation does.
    @Test func aRestartAfterTheLastCheckpointIsSeenToo() async throws {
        let server = try await startFixture()
        let directory = try TemporaryDirectory()
        let database = try SQLiteEventStore(path: directory.file("events.db"))
        let extractor = try LaunchpadExtractor(
            query: try marchQuery("alice-example", serviceRoot: server.serviceRoot), client: try fixtureClient(server), store: database)
        let error = await etlError {
            try await extractor.run(batchId: "wf") { checkpoint in
                guard checkpoint.phase == .done, let staged = try? await database.stagedEvents("wf") else { return }
                await Self.restartAsAStaleAttempt(database, "wf", generation: "a-late-start")
                try? await database.stageEvents(staged, batchId: "wf")
            }
        }
        #expect(error?.code == .stagingMismatch)
        #expect(error?.message.contains("was started again by another attempt") == true, "\(String(describing: error))")
    }

    /// What an attempt that outlived its timeout does when its late fresh start comes through:
    /// clears the batch and claims it with a generation of its own.
    static func restartAsAStaleAttempt(_ database: SQLiteEventStore, _ batchId: String, generation: String) async {
        try? await database.deleteStagedBatch(batchId)
        try? await database.saveCheckpoint(
            ExtractionCheckpoint(batchId: batchId, phase: .bugsReported, storeId: database.identity.id, generation: generation))
    }

    /// A fresh start claims its batch (clears it and saves its first checkpoint) before its first
    /// request, so an attempt slow to look up the member cannot clear a later attempt's rows.
    @Test func aFreshStartClaimsTheBatchBeforeItsFirstRequest() async throws {
        let server = try await startFixture()
        let directory = try TemporaryDirectory()
        let database = try SQLiteEventStore(path: directory.file("events.db"))
        let unknown = try LaunchpadExtractor(
            query: try marchQuery("nobody-here", serviceRoot: server.serviceRoot), client: try fixtureClient(server), store: database)
        let error = await etlError { try await unknown.run(batchId: "nobody") }
        #expect(error?.code == .unknownMember)
        let claimed = try #require(try await database.loadCheckpoint(batchId: "nobody"))
        #expect(claimed.phase == .bugsReported)
        #expect(claimed.generation != nil)
        #expect(claimed.storeId == database.identity.id)
    }

    /// A checkpoint saved by a release before generations resumes, and gets a generation.
    @Test func aCheckpointWithoutAGenerationResumes() async throws {
        let server = try await startFixture()
        let directory = try TemporaryDirectory()
        let database = try SQLiteEventStore(path: directory.file("events.db"))
        let legacy = ExtractionCheckpoint(batchId: "old", phase: .bugsReported, storeId: database.identity.id)
        try await database.saveCheckpoint(legacy)
        let result = try await LaunchpadExtractor(
            query: try marchQuery("alice-example", serviceRoot: server.serviceRoot), client: try fixtureClient(server), store: database
        ).run(batchId: "old", resumeFrom: legacy)
        #expect(result.batch.rowCount == FixtureDataset.aliceMarch2024EventCount)
        #expect(try await database.loadCheckpoint(batchId: "old")?.generation != nil)
    }

    /// A 401 on one item's page (made private since it was listed; Launchpad answers some such
    /// reads 401, some 404) reads the item as absent, as a 404 does: it failed the extraction for
    /// good, blaming the token. A 401 that refuses the credentials still fails loudly.
    @Test func anItemDeniedToThisReaderIsReadAsAbsentNotAsBadCredentials() {
        let denied = LaunchpadClient.classify(
            HTTPResult(status: 401, headers: [:], body: Array("(<BranchMergeProposal at 0x7f>, 'id', 'launchpad.View')".utf8)),
            url: "https://api.launchpad.net/devel/~a/b/+git/c/+merge/1")
        #expect(LaunchpadExtractor.deniedToThisReader(denied))
        for body in [
            "Unknown access token (abc).", "Expired token (abc).", "Invalid signature.", "Unknown consumer (app).",
            "Nonce has already been used", "<html><body>403 Forbidden by the proxy</body></html>",
        ] {
            let refused = LaunchpadClient.classify(HTTPResult(status: 401, headers: [:], body: Array(body.utf8)), url: "https://x/")
            #expect(!LaunchpadExtractor.deniedToThisReader(refused), "\(body)")
        }
        #expect(!LaunchpadExtractor.deniedToThisReader(ETLError(.notFound, "gone", nonRetryable: true)))
        // A read that sent no credentials is not told to check credentials it does not have
        // (it was, "check LP_ACCESS_TOKEN/LP_ACCESS_SECRET"), and a private item is still read
        // as absent.
        let anonymous = LaunchpadClient.classify(
            HTTPResult(status: 401, headers: [:], body: Array("(<Bug at 0x7f>, 'title', 'launchpad.View')".utf8)),
            url: "https://api.launchpad.net/devel/bugs/1", credentialed: false)
        #expect(!anonymous.message.contains("check LP_ACCESS_TOKEN") && anonymous.message.contains("did not send"), "\(anonymous)")
        #expect(LaunchpadExtractor.deniedToThisReader(anonymous))
        let forbidden = LaunchpadClient.classify(
            HTTPResult(status: 403, headers: [:], body: Array("<html>blocked</html>".utf8)), url: "https://x/", credentialed: false)
        #expect(!forbidden.message.contains("the token"), "\(forbidden)")
    }

    @Test func aCheckpointIsReplacedOnlyWithinItsStartOfTheBatch() async throws {
        let directory = try TemporaryDirectory()
        try await checkCheckpointReplacement(try SQLiteEventStore(path: directory.file("events.db")))
    }

    @Test func resumeFromCheckpointGivesTheSameTable() async throws {
        let directory = try TemporaryDirectory()
        // Uninterrupted reference run.
        let reference: StagedBatch
        do {
            let server = try await startFixture()
            let database = try SQLiteEventStore(path: directory.file("reference.db"))
            let extractor = try LaunchpadExtractor(
                query: try marchQuery("alice-example", serviceRoot: server.serviceRoot),
                client: try fixtureClient(server, pageSize: 2), store: database)
            reference = try await extractor.run(batchId: "wf").batch
            _ = try await database.loadStagedBatch(reference)
        }
        // Interrupted run: from request 25 on, truncated JSON every time, which fails the
        // attempt once the client's retries (4 attempts) are spent.
        let database = try SQLiteEventStore(path: directory.file("events.db"))
        let recorder = CheckpointRecorder()
        do {
            let faulty = try await startFixture(["--faults", "truncate@25x40"])
            var extractor = try LaunchpadExtractor(
                query: try marchQuery("alice-example", serviceRoot: faulty.serviceRoot),
                client: try fixtureClient(faulty, pageSize: 2, concurrency: 1), store: database)
            extractor.chunkSize = 2
            let error = await etlError { try await extractor.run(batchId: "wf") { await recorder.record($0) } }
            #expect(error?.code == .malformedResponse)
            #expect(error?.message.contains("byte offset") == true)
        }
        let heartbeat = try #require(await recorder.checkpoints.last)
        #expect(heartbeat.phase != .done)
        #expect(try await database.loadCheckpoint(batchId: "wf") == heartbeat)
        // Resume (a new worker, a new server: links in the checkpoint point at the old port,
        // so the resumed run uses the same server address space only via fresh discovery).
        let server = try await startFixture()
        var resumedCheckpoint = heartbeat
        if let link = resumedCheckpoint.nextPageLink, let oldRoot = link.range(of: "/devel/") {
            resumedCheckpoint.nextPageLink = server.serviceRoot + "devel/" + link[oldRoot.upperBound...]
        }
        let extractor = try LaunchpadExtractor(
            query: try marchQuery("alice-example", serviceRoot: server.serviceRoot),
            client: try fixtureClient(server, pageSize: 2), store: database)
        let resumed = try await extractor.run(batchId: "wf", resumeFrom: resumedCheckpoint)
        #expect(resumed.batch.rowCount == reference.rowCount)
        let referenceEvents = try await SQLiteEventStore(path: directory.file("reference.db")).events()
        #expect(try await database.loadStagedBatch(resumed.batch) == 24)
        let events = try await database.events()
        #expect(events.map(\.id) == referenceEvents.map(\.id))
        #expect(events.map(\.type) == referenceEvents.map(\.type))
        #expect(events.map(\.timeUTC) == referenceEvents.map(\.timeUTC))
    }

    /// A batch an attempt of another release began (other event builders) and this one
    /// resumes is partial, saying so: what that release read may lack the events this one
    /// makes (version 6: review requests kept in vote references). It was green, the events
    /// missing, its only trace the reader `mixed`.
    @Test func aBatchBegunByAnotherReleasesBuildersIsPartialWhenResumed() async throws {
        let directory = try TemporaryDirectory()
        let database = try SQLiteEventStore(path: directory.file("events.db"))
        let server = try await startFixture()
        let recorder = CheckpointRecorder()
        var first = try LaunchpadExtractor(
            query: try marchQuery("nina-requests", serviceRoot: server.serviceRoot), client: try fixtureClient(server), store: database)
        first.chunkSize = 1
        _ = try await first.run(batchId: "n") { await recorder.record($0) }
        // A heartbeat of the attempt after it staged events: where a retry would resume.
        let heartbeat = try #require(await recorder.checkpoints.last { $0.rowsSoFar > 0 && $0.phase != .done })
        for (builders, partial) in [(EventBuilders.version - 1, true), (EventBuilders.version, false)] {
            var checkpoint = heartbeat
            checkpoint.eventBuilders = builders
            try await database.saveCheckpoint(checkpoint)
            let extractor = try LaunchpadExtractor(
                query: try marchQuery("nina-requests", serviceRoot: server.serviceRoot), client: try fixtureClient(server), store: database)
            let resumed = try await extractor.run(batchId: "n", resumeFrom: checkpoint)
            let note = resumed.skippedPhases.first { $0.contains("begun by another release") }
            #expect((note != nil) == partial, "builders \(builders): \(resumed.skippedPhases)")
        }
    }

    @Test func transientFaultsDuringExtractionDoNotChangeTheResult() async throws {
        let clean = try await startFixture()
        let faulty = try await startFixture([
            "--fault-rate", "0.15", "--fault-kinds", "503,502,stall", "--retry-after", "0", "--stall-ms", "1500", "--seed", "7",
        ])
        let directory = try TemporaryDirectory()
        let database = try SQLiteEventStore(path: directory.file("events.db"))
        let cleanRun = try await LaunchpadExtractor(
            query: try marchQuery("alice-example", serviceRoot: clean.serviceRoot),
            client: try fixtureClient(clean, pageSize: 2), store: database
        ).run(batchId: "clean")
        let client = try fixtureClient(faulty, pageSize: 2, requestTimeout: .milliseconds(600), maxAttempts: 8)
        let faultyRun = try await LaunchpadExtractor(
            query: try marchQuery("alice-example", serviceRoot: faulty.serviceRoot),
            client: client, store: database
        ).run(batchId: "faulty")
        #expect(client.retryCount > 0)
        #expect(faultyRun.batch.rowCount == cleanRun.batch.rowCount)
        let cleanEvents = try await database.stagedEvents("clean")
        let faultyEvents = try await database.stagedEvents("faulty")
        #expect(cleanEvents.map(\.id) == faultyEvents.map(\.id))
    }

    @Test func nonDevelVersionSkipsQuestionsExplicitly() async throws {
        let server = try await startFixture()
        let directory = try TemporaryDirectory()
        let database = try SQLiteEventStore(path: directory.file("events.db"))
        var configuration = LaunchpadClientConfiguration(
            serviceRoot: try ServiceRoot(server.serviceRoot), version: "1.0", applicationName: "t")
        configuration.retry = HTTPRetryPolicy(
            maxAttempts: 2, initialDelay: .milliseconds(10), maxDelay: .milliseconds(10), maxRetryAfter: .seconds(1))
        let query = try LaunchpadQuery(
            applicationName: "t", serviceRoot: server.serviceRoot, version: "1.0", member: "alice-example",
            dataDateStart: "2024-03-01", dataDateEnd: "2024-03-31")
        let result = try await LaunchpadExtractor(query: query, client: LaunchpadClient(configuration: configuration), store: database).run(
            batchId: "v1")
        #expect(result.skippedPhases.count == 3, "\(result.skippedPhases)")
        #expect(result.skippedPhases.contains { $0.hasPrefix("hidden bug comments: the 1.0 API") }, "\(result.skippedPhases)")
        #expect(result.skippedPhases.contains { $0.contains("getOwnedProjects exists only in the devel API") }, "\(result.skippedPhases)")
        #expect(result.batch.rowCount == 19)
    }
}
