import Foundation
import Synchronization
import Temporal
import TemporalProto
import TemporalTestSupport
import Testing

@testable import TemporalCodecServer
@testable import TemporalWorker

/// Encrypted payloads end to end: what history holds, replay, the codec server for the CLI and
/// the Web UI, and the official Python SDK with the same key.
@Suite struct PayloadEncryptionTests {
    static let plainEncoding = Data("json/plain".utf8).base64EncodedString()
    static let sealedEncoding = Data("binary/encrypted".utf8).base64EncodedString()

    static func randomKey(id: String = "test-key") throws -> (EncryptionCodec, String) {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return (EncryptionCodec(current: try EncryptionCodec.Key(id: id, bytes: bytes)), Data(bytes).base64EncodedString())
    }

    static func encryptingClient(_ codec: EncryptionCodec, encodeFailures: Bool = false) async throws -> TemporalClient {
        let server = try await DevServer.shared()
        let converter = DataConverter(failureConverter: FailureConverter(encodeCommonAttributes: encodeFailures), codecs: [codec])
        return try await TemporalClient.connect(target: server.address, dataConverter: converter)
    }

    static func withEncryptingWorker<T: Sendable>(
        _ codec: EncryptionCodec, encodeFailures: Bool = false, workflows: [any Workflow.Type], activities: [ActivityDefinition],
        _ body: @escaping @Sendable (RunningWorker) async throws -> T
    ) async throws -> T {
        var options = WorkerOptions()
        options.gracefulShutdownTimeout = .seconds(1)
        let worker = Worker(
            client: try await encryptingClient(codec, encodeFailures: encodeFailures), taskQueue: uniqueQueue("enc"),
            workflows: workflows,
            activities: activities, options: options)
        let running = RunningWorker(worker: worker)
        do {
            let value = try await withTimeout(90) { try await body(running) }
            await running.stop()
            return value
        } catch {
            await running.stop(grace: .zero)
            throw error
        }
    }

    /// The events as protobuf JSON, without search attributes (indexed, so never encrypted).
    static func historyJSON(_ events: [HistoryEvent]) throws -> String {
        try events.map { event -> String in
            var e = event
            if case .workflowExecutionStartedEventAttributes(var a)? = e.attributes {
                a.clearSearchAttributes()
                e.workflowExecutionStartedEventAttributes = a
            }
            return try e.jsonString()
        }.joined(separator: "\n")
    }

    @Test func everyPayloadInHistoryIsEncryptedAndReplaysOnlyWithTheKey() async throws {
        let (codec, _) = try Self.randomKey()
        try await Self.withEncryptingWorker(codec, workflows: [Sealed.self], activities: [sealedStep]) { w in
            let handle = try await w.client.startWorkflow(
                type: Sealed.name, id: "sealed-\(UUID())", taskQueue: w.taskQueue,
                args: "the secret input", options: WorkflowOptions(memo: ["note": "secret memo"]))
            try await handle.signal("note", "secret signal")
            #expect(try await handle.result(as: String.self) == "sealed:step(the secret input|secret signal)")
            let events = try await handle.fetchHistory()
            let json = try Self.historyJSON(events)
            #expect(!json.contains(Self.plainEncoding), "a payload in the clear")
            #expect(json.contains(Self.sealedEncoding))
            for secret in ["secret input", "secret signal", "secret memo", "detail of", "step("] {
                #expect(
                    !json.contains(secret) && !json.contains(Data(secret.utf8).base64EncodedString().dropLast(4)), "\(secret) in the clear")
            }
            // The first attempt's failure (with its details) is in the retry's started event, sealed.
            #expect(
                events.contains {
                    $0.activityTaskStartedEventAttributes.lastFailure.applicationFailureInfo.details.payloads.first?.metadata["encoding"]
                        == Data("binary/encrypted".utf8)
                })
            #expect(try WorkflowReplayer(workflows: [Sealed.self], dataConverter: w.client.dataConverter).replay(events: events).closed)
            #expect(throws: (any Error).self) { try WorkflowReplayer(workflows: [Sealed.self]).replay(events: events) }
        }
    }

    /// With `encodeCommonAttributes`, error messages are sealed too: an activity's plain Swift
    /// error, the workflow's failure built from it, a workflow task's failure. They were in the
    /// clear in history (and the Web UI) while every payload was encrypted. Workflow code and a
    /// client with the key read them decoded.
    @Test func errorMessagesAreSealedWhenAsked() async throws {
        let (codec, _) = try Self.randomKey()
        let leaky = ActivityDefinition("leaky") { (customer: String, _: ActivityContext) -> String in
            throw LeakyError(text: "customer \(customer) has no account")
        }
        try await Self.withEncryptingWorker(codec, encodeFailures: true, workflows: [FailsOnALeak.self], activities: [leaky]) { w in
            let handle = try await w.client.startWorkflow(
                type: FailsOnALeak.name, id: "leak-\(UUID())", taskQueue: w.taskQueue, args: "alice@example.com")
            var error: TemporalError?
            do {
                _ = try await handle.result(as: String.self)
            } catch let failed as TemporalError {
                error = failed
            }
            #expect(
                error?.applicationError?.message == "the run failed: customer alice@example.com has no account (task failures: 1)",
                "\(String(describing: error))")
            let events = try await handle.fetchHistory()
            let json = try Self.historyJSON(events)
            for secret in ["alice@example.com", "has no account", "the run failed", "LeakyError(text"] {
                #expect(!json.contains(secret), "\(secret) in the clear")
            }
            #expect(events.contains { $0.eventType == .workflowTaskFailed }, "the workflow task failed once")
            let failed = try #require(events.first { $0.eventType == .activityTaskFailed }?.activityTaskFailedEventAttributes.failure)
            #expect(failed.message == DataConverter.encodedFailureMessage)
            #expect(failed.encodedAttributes.metadata["encoding"] == Data("binary/encrypted".utf8))
            #expect(w.client.dataConverter.decodingEncodedAttributes(failed).message == "customer alice@example.com has no account")
        }
    }

    /// A sealed failure too large to send keeps the start of its own message (cut from the
    /// decoded one and sealed again): it read "Encoded failure (the failure … left out)".
    @Test func aSealedFailureOverTheServersLimitKeepsItsMessage() async throws {
        let (codec, _) = try Self.randomKey()
        let refusing = ActivityDefinition("refusing") { (_: String, _: ActivityContext) -> String in
            throw try ApplicationError(
                "no for carol@example.com", type: "Refused", nonRetryable: true, details: String(repeating: "x", count: 5 << 20))
        }
        try await Self.withEncryptingWorker(codec, encodeFailures: true, workflows: [AwaitsOneActivity.self], activities: [refusing]) { w in
            let handle = try await w.client.startWorkflow(
                type: "AwaitsOneActivity", id: "huge-sealed-\(UUID())", taskQueue: w.taskQueue, args: "refusing")
            let outcome = try await handle.result(as: String.self)
            #expect(outcome.hasPrefix("Refused: no for carol@example.com (the failure"), "\(outcome)")
            let json = try Self.historyJSON(try await handle.fetchHistory())
            #expect(!json.contains("carol@example.com"))
        }
    }

    /// A failure's details are sealed like every payload; a client with the key decodes them
    /// (they decoded with the default converter, which has no codec, and failed saying the
    /// process had no key).
    @Test func aClientWithTheKeyDecodesAFailuresDetails() async throws {
        let (codec, _) = try Self.randomKey()
        try await Self.withEncryptingWorker(codec, workflows: [RefusesWithDetail.self], activities: []) { w in
            let handle = try await w.client.startWorkflow(
                type: RefusesWithDetail.name, id: "refuses-\(UUID())", taskQueue: w.taskQueue, args: "sealed detail")
            let error = await #expect(throws: TemporalError.self) { try await handle.result(as: String.self) }
            let application = try #require(error?.applicationError)
            #expect(application.details.first?.metadata["encoding"] == Data("binary/encrypted".utf8))
            #expect(try application.detail(as: String.self) == "sealed detail")
        }
    }

    /// A query handler's failure details are sealed by the worker; the querying client decodes
    /// them with its own codecs (they decoded with the default converter, which has no key).
    /// With error messages sealed too, the client reads the handler's message.
    @Test(arguments: [false, true]) func aClientWithTheKeyDecodesAQueryFailuresDetails(encodeFailures: Bool) async throws {
        let (codec, _) = try Self.randomKey()
        try await Self.withEncryptingWorker(codec, encodeFailures: encodeFailures, workflows: [RefusesQueries.self], activities: []) { w in
            let handle = try await w.client.startWorkflow(type: RefusesQueries.name, id: "refuses-q-\(UUID())", taskQueue: w.taskQueue)
            let error = await #expect(throws: TemporalError.self) { try await handle.query("secret", as: String.self) }
            #expect(error?.kind == .queryFailed)
            #expect(error?.message.contains("not telling") == true, "\(String(describing: error?.message))")
            #expect(error?.failure?.message == "not telling")
            let application = try #require(error?.applicationError, "\(String(describing: error))")
            #expect(application.details.first?.metadata["encoding"] == Data("binary/encrypted".utf8))
            #expect(try application.detail(as: String.self) == "sealed query detail")
            try await handle.terminate(reason: "test over")
        }
    }

    /// An activity that throws an error made off its own task (a callback on another queue, a
    /// detached task: `DataConverter.current` is `.default` there) has its details sealed by
    /// the worker too; they went to the history in the clear.
    @Test func detailsOfAnErrorMadeOffTheActivitysTaskAreSealed() async throws {
        let (codec, _) = try Self.randomKey()
        let step = ActivityDefinition("asyncStep") { (input: String, ctx: ActivityContext) -> String in
            let error = try await Task.detached {
                try ApplicationError("declined in a callback", type: "Declined", nonRetryable: true, details: "secret callback detail")
            }.value
            throw error
        }
        try await Self.withEncryptingWorker(codec, workflows: [AwaitsAsyncStep.self], activities: [step]) { w in
            let handle = try await w.client.startWorkflow(type: AwaitsAsyncStep.name, id: "callback-fail-\(UUID())", taskQueue: w.taskQueue)
            #expect(try await handle.result(as: String.self) == "failed:secret callback detail")
            let events = try await handle.fetchHistory()
            let failed = try #require(events.first { $0.eventType == .activityTaskFailed })
            let detail = try #require(failed.activityTaskFailedEventAttributes.failure.applicationFailureInfo.details.payloads.first)
            #expect(detail.metadata["encoding"] == Data("binary/encrypted".utf8), "\(detail.metadata)")
            #expect(!(try Self.historyJSON(events)).contains(Data("secret callback".utf8).base64EncodedString().dropLast(4)))
        }
    }

    /// An encrypting client failing an activity from outside the worker (an async completion)
    /// seals the failure's details too: made there with `.default`, they went out in the clear.
    @Test func anAsyncCompletionsFailureDetailsAreSealed() async throws {
        let (codec, _) = try Self.randomKey()
        let tokens = Recorded<Data>()
        let step = ActivityDefinition("asyncStep") { (input: String, ctx: ActivityContext) -> String in
            tokens.append(ctx.info.taskToken)
            try ctx.completeAsynchronously()
        }
        try await Self.withEncryptingWorker(codec, workflows: [AwaitsAsyncStep.self], activities: [step]) { w in
            let handle = try await w.client.startWorkflow(type: AwaitsAsyncStep.name, id: "async-fail-\(UUID())", taskQueue: w.taskQueue)
            _ = try await eventually(20) { !tokens.values.isEmpty }
            let token = try #require(tokens.values.first)
            // Made here, outside workflow and activity code: with `.default`, no codecs.
            try await w.client.asyncActivityHandle(taskToken: token).fail(
                try ApplicationError("refused outside", type: "Outside", nonRetryable: true, details: "secret outside detail"))
            #expect(try await handle.result(as: String.self) == "failed:secret outside detail")
            let events = try await handle.fetchHistory()
            let failed = try #require(events.first { $0.eventType == .activityTaskFailed })
            let detail = try #require(failed.activityTaskFailedEventAttributes.failure.applicationFailureInfo.details.payloads.first)
            #expect(detail.metadata["encoding"] == Data("binary/encrypted".utf8), "\(detail.metadata)")
            #expect(!(try Self.historyJSON(events)).contains(Data("secret outside".utf8).base64EncodedString().dropLast(4)))
        }
    }

    /// Origins are compared as a browser sends them: an operator's trailing slash, capitals or
    /// default port no longer make every request of the UI a 403; a path is refused at start.
    @Test func allowedOriginsAreReadAsABrowserSendsThem() throws {
        #expect(try CodecServer.origin(" HTTPS://UI.Example.com/ ") == "https://ui.example.com")
        #expect(try CodecServer.origin("https://ui.example.com:443") == "https://ui.example.com")
        #expect(try CodecServer.origin("http://[::1]:80/") == "http://[::1]")
        #expect(try CodecServer.origin("http://localhost:8233") == "http://localhost:8233")
        #expect(try CodecServer.origin("https://ui.example.com:8443") == "https://ui.example.com:8443")
        for bad in ["https://ui.example.com/namespaces", "ui.example.com", "https://", "ftp://ui.example.com"] {
            #expect(throws: EncryptionError.self, "\(bad)") { try CodecServer.origin(bad) }
        }
        let (codec, _) = try Self.randomKey()
        #expect(throws: EncryptionError.self) { try CodecServer(codecs: [codec], port: 0, allowedOrigins: ["http://localhost:8233/ui"]) }
    }

    @Test func theCodecServerShowsPlainPayloadsToTheCLIAndAnswersBrowsers() async throws {
        let (codec, _) = try Self.randomKey()
        let codecServer = try CodecServer(codecs: [codec], port: 0, allowedOrigins: ["http://localhost:8233/"])
        let port = try await codecServer.start()
        defer { Task { await codecServer.stop() } }
        let server = try await DevServer.shared()
        try await Self.withEncryptingWorker(codec, workflows: [Hello.self], activities: [greet]) { w in
            let id = "hello-sealed-\(UUID())"
            let handle = try await w.client.startWorkflow(type: Hello.name, id: id, taskQueue: w.taskQueue, args: HelloInput(name: "codec"))
            #expect(try await handle.result(as: String.self) == "hi codec")
            let raw = try await temporalCLI(["workflow", "show", "--address", server.address, "-w", id, "-o", "json"])
            #expect(raw.contains(Self.sealedEncoding) && !raw.contains(Self.plainEncoding))
            let shown = try await temporalCLI([
                "workflow", "show", "--address", server.address, "-w", id, "-o", "json",
                "--codec-endpoint", "http://127.0.0.1:\(port)",
            ])
            #expect(shown.contains(Self.plainEncoding) && !shown.contains(Self.sealedEncoding), "\(shown.prefix(400))")
            #expect(shown.contains(Data(#"{"name":"codec"}"#.utf8).base64EncodedString()))
        }
        // The browser's side: a preflight, then a decode, with the UI's origin echoed.
        let preflight = try await curl([
            "-si", "-X", "OPTIONS", "-H", "Origin: http://localhost:8233",
            "-H", "Access-Control-Request-Method: POST", "http://127.0.0.1:\(port)/decode",
        ])
        #expect(preflight.contains("200") && preflight.contains("Access-Control-Allow-Origin: http://localhost:8233"), "\(preflight)")
        #expect(preflight.contains("X-Namespace"))
        #expect(preflight.contains("Authorization-Extras"), "the UI's id token header, sent when it passes the access token on")
        var sealed = Payloads()
        sealed.payloads = try codec.encode([try DataConverter.default.toPayload("from the UI")])
        let decoded = try await curl([
            "-si", "-X", "POST", "-H", "Origin: http://localhost:8233", "-H", "X-Namespace: default",
            "-H", "Content-Type: application/json", "--data-binary", try sealed.jsonString(),
            "http://127.0.0.1:\(port)/decode",
        ])
        #expect(decoded.contains("Access-Control-Allow-Origin: http://localhost:8233"))
        let body = try #require(decoded.components(separatedBy: "\r\n\r\n").last)
        let plain = try Payloads(jsonString: body)
        #expect(try DataConverter.default.fromPayloads(plain, as: String.self) == "from the UI")
        // Another web page the operator has open may not use it: refused before any decoding.
        let stranger = try await curl(["-si", "-X", "OPTIONS", "-H", "Origin: http://evil.example", "http://127.0.0.1:\(port)/decode"])
        #expect(!stranger.contains("Access-Control-Allow-Origin") && stranger.contains("403"), "\(stranger)")
        let sneaky = try await curl([
            "-si", "-X", "POST", "-H", "Origin: http://evil.example", "-H", "Content-Type: text/plain",
            "--data-binary", try sealed.jsonString(), "http://127.0.0.1:\(port)/decode",
        ])
        #expect(sneaky.contains("403") && !sneaky.contains(Self.plainEncoding), "\(sneaky)")
        let bad = try await curl([
            "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "--data-binary", "{not json",
            "http://127.0.0.1:\(port)/decode",
        ])
        #expect(bad == "400")
        // A payload sealed with a key the server lacks: the caller learns which key, not the
        // ids of the keys the server holds.
        let (other, _) = try Self.randomKey(id: "elsewhere-key")
        var foreign = Payloads()
        foreign.payloads = try other.encode([try DataConverter.default.toPayload("elsewhere")])
        let refused = try await curl([
            "-si", "-X", "POST", "--data-binary", try foreign.jsonString(), "http://127.0.0.1:\(port)/decode",
        ])
        #expect(refused.contains("422") && refused.contains(other.current.id), "\(refused)")
        #expect(!refused.contains(codec.current.id), "\(refused)")
    }

    /// The Web UI and the CLI append `/decode` to the endpoint as given, so one configured with a
    /// trailing slash asks for `//decode`. It got 404 (the path was read as a URL whose host is
    /// `decode`), and the UI showed the sealed payloads. The server also listens on `localhost`
    /// and on IPv6 addresses (it took IPv4 addresses only).
    @Test func theCodecServerAnswersAnEndpointGivenWithATrailingSlash() async throws {
        let (codec, _) = try Self.randomKey()
        var sealed = Payloads()
        sealed.payloads = try codec.encode([try DataConverter.default.toPayload("slash")])
        for (host, url) in [("localhost", "127.0.0.1"), ("::1", "[::1]")] {
            let codecServer = try CodecServer(codecs: [codec], host: host, port: 0)
            let port = try await codecServer.start()
            let decoded = try await curl([
                "-s", "-X", "POST", "-H", "Content-Type: application/json", "--data-binary", try sealed.jsonString(),
                "http://\(url):\(port)//decode",
            ])
            await codecServer.stop()
            #expect(
                try DataConverter.default.fromPayloads(try Payloads(jsonString: decoded), as: String.self) == "slash", "\(host): \(decoded)"
            )
        }
    }

    /// With a token, only requests that carry it are decoded: the CLI's `--codec-auth` gets the
    /// plain payloads, a request without it or with another gets 401 and nothing decoded, and a
    /// refusal names no allowed origin or namespace. Preflights carry no credentials and pass.
    @Test func theCodecServerWithATokenServesOnlyThoseWhoCarryIt() async throws {
        let (codec, _) = try Self.randomKey()
        let codecServer = try CodecServer(
            codecs: [codec], port: 0, allowedOrigins: ["http://localhost:8233"], namespaces: ["default"],
            authorization: "Bearer s3cret-token")
        let port = try await codecServer.start()
        defer { Task { await codecServer.stop() } }
        let server = try await DevServer.shared()
        try await Self.withEncryptingWorker(codec, workflows: [Hello.self], activities: [greet]) { w in
            let id = "hello-token-\(UUID())"
            let handle = try await w.client.startWorkflow(type: Hello.name, id: id, taskQueue: w.taskQueue, args: HelloInput(name: "token"))
            #expect(try await handle.result(as: String.self) == "hi token")
            let show = [
                "workflow", "show", "--address", server.address, "-w", id, "-o", "json", "--codec-endpoint", "http://127.0.0.1:\(port)",
            ]
            let shown = try await temporalCLI(show + ["--codec-auth", "Bearer s3cret-token"])
            #expect(shown.contains(Self.plainEncoding) && !shown.contains(Self.sealedEncoding), "\(shown.prefix(400))")
            let refused = try await temporalCLI(show)
            #expect(!refused.contains(Self.plainEncoding), "\(refused.prefix(400))")
        }
        var sealed = Payloads()
        sealed.payloads = try codec.encode([try DataConverter.default.toPayload("secret")])
        let body = try sealed.jsonString()
        func decode(_ headers: [String]) async throws -> String {
            try await curl(
                ["-si", "-X", "POST", "-H", "X-Namespace: default"] + headers.flatMap { ["-H", $0] } + [
                    "--data-binary", body, "http://127.0.0.1:\(port)/decode",
                ])
        }
        let none = try await decode([])
        #expect(none.contains("401") && none.contains("no Authorization header") && none.contains("WWW-Authenticate: Bearer"), "\(none)")
        #expect(!none.contains(Self.plainEncoding))
        let wrong = try await decode(["Authorization: Bearer s3cret-toke"])
        #expect(wrong.contains("401") && wrong.contains("a wrong Authorization header") && !wrong.contains("s3cret"), "\(wrong)")
        let right = try await decode(["Authorization: bearer s3cret-token"])  // the scheme in any case
        let plain = try Payloads(jsonString: try #require(right.components(separatedBy: "\r\n\r\n").last))
        #expect(try DataConverter.default.fromPayloads(plain, as: String.self) == "secret")
        let preflight = try await curl([
            "-si", "-X", "OPTIONS", "-H", "Origin: http://localhost:8233", "-H", "Access-Control-Request-Method: POST",
            "http://127.0.0.1:\(port)/decode",
        ])
        #expect(preflight.contains("200") && preflight.contains("Authorization"), "\(preflight)")
        // Refusals say what was wrong, not what would pass.
        let stranger = try await curl(["-si", "-X", "OPTIONS", "-H", "Origin: http://evil.example", "http://127.0.0.1:\(port)/decode"])
        #expect(stranger.contains("403") && !stranger.contains("localhost:8233"), "\(stranger)")
        let otherNamespace = try await curl([
            "-si", "-X", "POST", "-H", "X-Namespace: other", "-H", "Authorization: Bearer s3cret-token", "--data-binary", body,
            "http://127.0.0.1:\(port)/decode",
        ])
        #expect(otherNamespace.contains("403") && !otherNamespace.contains("'default'"), "\(otherNamespace)")
    }

    /// A body above the limit is refused unread (413), declared or chunked; a refused origin or
    /// path is answered before the body is read. Before, every body was read whole first.
    @Test func theCodecServerRefusesABodyAboveItsLimit() async throws {
        let (codec, _) = try Self.randomKey()
        let codecServer = try CodecServer(
            codecs: [codec], port: 0, allowedOrigins: ["http://localhost:8233"], maximumBodyBytes: 1_024)
        let port = try await codecServer.start()
        defer { Task { await codecServer.stop() } }
        var sealed = Payloads()
        sealed.payloads = try codec.encode([try DataConverter.default.toPayload(String(repeating: "x", count: 2_000))])
        let big = try sealed.jsonString()
        func status(_ arguments: [String]) async throws -> String {
            try await curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST"] + arguments)
        }
        #expect(try await status(["--data-binary", big, "http://127.0.0.1:\(port)/decode"]) == "413")
        #expect(
            try await status(["-H", "Transfer-Encoding: chunked", "--data-binary", big, "http://127.0.0.1:\(port)/decode"]) == "413")
        #expect(
            try await status(["-H", "Origin: http://evil.example", "--data-binary", big, "http://127.0.0.1:\(port)/decode"]) == "403")
        #expect(try await status(["--data-binary", big, "http://127.0.0.1:\(port)/other"]) == "404")
        // Above FlyingFox's replay buffer (2 MiB), refused bodies are streamed: read to their end
        // and dropped, so the next request on the connection is read as sent. (Left unread, they
        // were parsed as the next request line, buffered whole.) Two requests on one connection:
        sealed.payloads = try codec.encode([try DataConverter.default.toPayload("after")])
        let script = """
            import socket, sys
            port, small = int(sys.argv[1]), sys.argv[2].encode()
            huge = b"x" * (3 << 20)
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"POST /decode HTTP/1.1\\r\\nHost: h\\r\\nContent-Length: %d\\r\\n\\r\\n" % len(huge) + huge)
            s.sendall(b"POST /decode HTTP/1.1\\r\\nHost: h\\r\\nContent-Length: %d\\r\\nConnection: close\\r\\n\\r\\n" % len(small) + small)
            s.settimeout(20)
            out = b""
            while True:
                try:
                    data = s.recv(65536)
                except socket.timeout:
                    break
                if not data:
                    break
                out += data
            sys.stdout.write(out.decode("utf-8", "replace"))
            """
        let both = try await runProcess("/usr/bin/env", ["python3", "-c", script, "\(port)", try sealed.jsonString()])
        #expect(both.hasPrefix("HTTP/1.1 413"), "\(both.prefix(300))")
        let second = try #require(both.components(separatedBy: "HTTP/1.1 ").dropFirst(2).first, "\(both.prefix(600))")
        #expect(second.hasPrefix("200"), "\(second.prefix(300))")
        let answer = try #require(second.components(separatedBy: "\r\n\r\n").last)
        #expect(try DataConverter.default.fromPayloads(try Payloads(jsonString: answer), as: String.self) == "after")
        sealed.payloads = try codec.encode([try DataConverter.default.toPayload("small")])
        let plain = try await curl(["-s", "-X", "POST", "--data-binary", try sealed.jsonString(), "http://127.0.0.1:\(port)/decode"])
        #expect(try DataConverter.default.fromPayloads(try Payloads(jsonString: plain), as: String.self) == "small")
    }

    @Test func aPythonClientWithTheSameKeyReadsAndWritesOurPayloads() async throws {
        let (codec, base64) = try Self.randomKey(id: "shared-key")
        let server = try await DevServer.shared()
        try await Self.withEncryptingWorker(codec, workflows: [Hello.self], activities: [greet]) { w in
            let ours = "hello-ours-\(UUID())"
            let handle = try await w.client.startWorkflow(
                type: Hello.name, id: ours, taskQueue: w.taskQueue, args: HelloInput(name: "swift"))
            #expect(try await handle.result(as: String.self) == "hi swift")
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("peers/python_codec_client.py").path
            let output = try await runProcess(
                "/usr/bin/env",
                [
                    "python3", script, server.address, "shared-key", base64, w.taskQueue,
                    "hello-python-\(UUID())", ours,
                ])
            #expect(output.contains("started:hi py"), "\(output)")
            #expect(output.contains("read:hi swift"), "\(output)")
        }
    }

    @Test(.enabled(if: Chromium.path != nil, Comment(rawValue: Chromium.missing)))
    func theWebUIShowsTheDecryptedInputThroughTheCodecServer() async throws {
        let chromium = try #require(Chromium.path)
        let (codec, _) = try Self.randomKey()
        let uiPort = try DevServer.freePort()
        let codecServer = try CodecServer(
            codecs: [codec], port: 0, allowedOrigins: ["http://127.0.0.1:\(uiPort)", "http://localhost:\(uiPort)"])
        let codecPort = try await codecServer.start()
        let server = try await DevServer.start(
            withUI: true, uiPort: uiPort, extraArguments: ["--ui-codec-endpoint", "http://127.0.0.1:\(codecPort)"])
        defer {
            server.stop()
            Task { await codecServer.stop() }
        }
        let client = try await TemporalClient.connect(target: server.address, dataConverter: DataConverter(codecs: [codec]))
        let queue = uniqueQueue("ui")
        var options = WorkerOptions()
        options.gracefulShutdownTimeout = .seconds(1)
        let running = RunningWorker(
            worker: Worker(client: client, taskQueue: queue, workflows: [Hello.self], activities: [greet], options: options))
        let id = "ui-sealed-\(UUID())"
        do {
            let handle = try await client.startWorkflow(
                type: Hello.name, id: id, taskQueue: queue, args: HelloInput(name: "visible-only-decrypted"))
            #expect(try await withTimeout(60) { try await handle.result(as: String.self) } == "hi visible-only-decrypted")
        } catch {
            await running.stop(grace: .zero)
            throw error
        }
        await running.stop()
        // History holds only ciphertext; the page shows the plain input and result, which the
        // browser got from the codec server (without --ui-codec-endpoint the page has neither).
        let raw = try await temporalCLI(["workflow", "show", "--address", server.address, "-w", id, "-o", "json"])
        #expect(!raw.contains(Data("visible-only-decrypted".utf8).base64EncodedString().dropLast(4)))
        var dom = ""
        for _ in 0..<3 where !dom.contains("visible-only-decrypted") {
            dom = try await runProcess(
                chromium,
                [
                    "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=20000",
                    "--dump-dom", "http://127.0.0.1:\(server.uiPort)/namespaces/default/workflows/\(id)",
                ],
                timeout: 120)
        }
        #expect(dom.contains("visible-only-decrypted"), "the decrypted input is not on the page (\(dom.count) bytes of DOM)")
        #expect(dom.contains("hi visible-only-decrypted"), "the decrypted result is not on the page")
    }
}

/// Fails at once with its input as the failure's detail.
final class RefusesWithDetail: Workflow {
    init() {}
    func run(context: WorkflowContext, input: String) async throws -> String {
        throw try ApplicationError("refused", type: "Refused", nonRetryable: true, details: input)
    }
}

/// Fails every query "secret" with a detail.
final class RefusesQueries: Workflow {
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        context.setQueryHandler("secret") { () throws -> String in
            throw try ApplicationError("not telling", type: "Refused", details: "sealed query detail")
        }
        try await context.condition { false }
        return ""
    }
}

/// Runs activity "asyncStep" once; returns its failure's first detail, decoded in the workflow.
final class AwaitsAsyncStep: Workflow {
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        var options = ActivityOptions(startToCloseTimeout: .seconds(60))
        options.retryPolicy = RetryPolicy(maximumAttempts: 1)
        do {
            return try await context.executeActivity("asyncStep", input: "x", options: options, as: String.self)
        } catch let error as ActivityError {
            return "failed:" + ((try? error.applicationError?.detail(as: String.self)) ?? "undecodable")
        }
    }
}

/// A plain Swift error whose description names a customer.
struct LeakyError: Error, CustomStringConvertible {
    let text: String
    var description: String { text }
}

/// Fails its first workflow task with a plain error naming its input, then runs activity
/// "leaky" once and fails with the message of the activity's error.
final class FailsOnALeak: Workflow {
    static let failed = Mutex<Set<String>>([])
    init() {}
    func run(context: WorkflowContext, input: String) async throws -> String {
        // The first workflow task fails (a task failure is sent with its message).
        let first = Self.failed.withLock { $0.insert(context.info.workflowID).inserted }
        if first { throw LeakyError(text: "the first task fails for \(input)") }
        let failures = 1
        var options = ActivityOptions(startToCloseTimeout: .seconds(60))
        options.retryPolicy = RetryPolicy(maximumAttempts: 1)
        do {
            return try await context.executeActivity("leaky", input: input, options: options, as: String.self)
        } catch let error as ActivityError {
            let message = (error.cause as? ApplicationError)?.message ?? "\(String(describing: error.cause))"
            throw ApplicationError("the run failed: \(message) (task failures: \(failures))", type: "Leak", nonRetryable: true)
        }
    }
}
