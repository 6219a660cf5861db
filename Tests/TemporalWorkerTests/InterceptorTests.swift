import Foundation
import Synchronization
import Temporal
import TemporalProto
import TemporalTestSupport
import Testing

@testable import TemporalWorker

/// Client and worker interceptors against the dev server: a tenant id set by the client's
/// interceptor travels in Temporal headers to the workflow, from there (through a task-local
/// bound in `executeWorkflow`) to its activities, local activities and children, and with
/// signals, queries and updates; interceptors run in order and can refuse a call.
@Suite struct InterceptorTests {
    @Test func aHeaderTravelsFromTheClientThroughWorkflowsToActivities() async throws {
        let log = CallLog()
        let seen = CallLog()
        let tenantActivity = ActivityDefinition("whoAmI") { (label: String, _: ActivityContext) -> String in
            "\(label):\(Tenant.current ?? "none")"
        }
        let server = try await DevServer.shared()
        let client = try await TemporalClient.connect(target: server.address, interceptors: [TenantClientInterceptor(tenant: "acme")])
        try await withWorker(
            workflows: [TenantFlow.self, TenantChild.self], activities: [tenantActivity],
            configure: { $0.interceptors = [TenantWorkerInterceptor(log: log, seen: seen)] }
        ) { w in
            let handle = try await client.startWorkflow(
                type: TenantFlow.name, id: "tenant-\(UUID())", taskQueue: w.taskQueue, arguments: [])
            #expect(
                try await eventually { try await handle.query("tenant", as: String.self) == "acme" },
                "the query handler runs with the query's header")
            let updated = try await handle.executeUpdate("rename", "renamed", as: String.self)
            #expect(updated == "renamed@acme")
            try await handle.signal("go")
            let result = try await handle.result(as: [String].self)
            #expect(result == ["activity:acme", "local:acme", "child:activity-in-child:acme"])

            let calls = log.entries
            for expected in [
                "executeWorkflow TenantFlow acme", "executeWorkflow TenantChild acme",
                "handleQuery tenant acme", "validateUpdate rename acme", "executeUpdate rename acme",
                "handleSignal go acme", "startActivity whoAmI acme", "startLocalActivity whoAmI acme",
                "startChildWorkflow TenantChild acme", "executeActivity whoAmI acme",
            ] {
                #expect(calls.contains(expected), "\(expected) in \(calls)")
            }
            // The activity's header is in history: a worker of another SDK would see it too.
            let events = try await handle.fetchHistory()
            let scheduled = try #require(events.first { $0.eventType == .activityTaskScheduled })
            let header = scheduled.activityTaskScheduledEventAttributes.header.fields["tenant"]
            #expect(try header.map { try DataConverter.default.payloadConverter.fromPayload($0, as: String.self) } == "acme")
            let started = try #require(events.first { $0.eventType == .workflowExecutionStarted })
            #expect(started.workflowExecutionStartedEventAttributes.header.fields["tenant"] != nil)

            // Replay runs the workflow interceptors again and sees the start header from history.
            let before = seen.entries.count
            let replay = WorkflowReplayer(workflows: [TenantFlow.self], interceptors: [TenantWorkerInterceptor(log: CallLog(), seen: seen)])
            #expect(try replay.replay(events: events).closed)
            #expect(seen.entries.dropFirst(before).contains("workflow acme"))
        }
        client.close()
    }

    /// The headers of a signal to another workflow and of a continue-as-new come from
    /// interceptors too: they were the trace alone, so a tenant (or any propagated context)
    /// stopped at the first `continueAsNew` and never reached a signalled workflow.
    @Test func aHeaderTravelsWithExternalSignalsAndContinueAsNew() async throws {
        let log = CallLog()
        let server = try await DevServer.shared()
        let client = try await TemporalClient.connect(target: server.address, interceptors: [TenantClientInterceptor(tenant: "acme")])
        let plain = try await TemporalClient.connect(target: server.address)
        try await withWorker(
            workflows: [TenantRelay.self, TenantListener.self],
            configure: { $0.interceptors = [TenantWorkerInterceptor(log: log, seen: CallLog())] }
        ) { w in
            let listener = try await plain.startWorkflow(
                type: TenantListener.name, id: "listener-\(UUID())", taskQueue: w.taskQueue, arguments: [])
            let relay = try await client.startWorkflow(
                type: TenantRelay.name, id: "relay-\(UUID())", taskQueue: w.taskQueue, arguments: [listener.id])
            #expect(try await listener.result(as: String.self) == "acme", "the signal's handler saw the sender's tenant")
            #expect(try await relay.result(as: String.self) == "second run: acme", "the next run's start carried it")
            for expected in ["signalExternalWorkflow ping acme", "continueAsNew TenantRelay acme", "handleSignal ping acme"] {
                #expect(log.entries.contains(expected), "\(expected) in \(log.entries)")
            }
        }
        client.close()
        plain.close()
    }

    @Test func aPythonSDKClientsHeadersReachOurWorkerInterceptors() async throws {
        let server = try await DevServer.shared()
        let log = CallLog()
        let tenantActivity = ActivityDefinition("whoAmI") { (label: String, _: ActivityContext) -> String in
            "\(label):\(Tenant.current ?? "none")"
        }
        try await withWorker(
            workflows: [TenantFlow.self, TenantChild.self], activities: [tenantActivity],
            configure: { $0.interceptors = [TenantWorkerInterceptor(log: log, seen: CallLog())] }
        ) { w in
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .appendingPathComponent("../peers/python_header_client.py").standardizedFileURL.path
            let output = try await runProcess("/usr/bin/env", ["python3", script, server.address, w.taskQueue, "py-tenant-\(UUID())"])
            #expect(output.contains("query:python-co"), "\(output)")
            #expect(output.contains("update:py@python-co"), "\(output)")
            #expect(output.contains("result:activity:python-co,local:python-co,child:activity-in-child:python-co"), "\(output)")
            #expect(log.entries.contains("executeWorkflow TenantFlow python-co"), "\(log.entries)")
        }
    }

    @Test func clientInterceptorsRunInOrderAndCanRefuseACall() async throws {
        let order = CallLog()
        let server = try await DevServer.shared()
        let client = try await TemporalClient.connect(
            target: server.address,
            interceptors: [
                OrderInterceptor(name: "outer", log: order), OrderInterceptor(name: "inner", log: order), SignalGuard(),
            ])
        try await withWorker(workflows: [TenantFlow.self, TenantChild.self]) { w in
            let handle = try await client.startWorkflow(type: TenantFlow.name, id: "order-\(UUID())", taskQueue: w.taskQueue, arguments: [])
            #expect(order.entries == ["outer start", "inner start", "inner started", "outer started"])
            await #expect(throws: SignalGuard.Refused.self) { try await handle.signal("forbidden") }
            let events = try await handle.fetchHistory()
            #expect(!events.contains { $0.eventType == .workflowExecutionSignaled }, "a refused signal never reaches the server")
            try await handle.terminate(reason: "test over")
        }
        client.close()
    }
}

// MARK: - Interceptors of the tests

enum Tenant {
    @TaskLocal static var current: String?
}

/// Adds header "tenant" to everything the client sends.
struct TenantClientInterceptor: ClientInterceptor {
    let tenant: String
    var payload: Payload { (try? DataConverter.default.toPayload(tenant)) ?? Payload() }

    func startWorkflow(_ input: StartWorkflowInput, next: (StartWorkflowInput) async throws -> WorkflowHandle) async throws
        -> WorkflowHandle
    {
        var input = input
        input.headers["tenant"] = payload
        return try await next(input)
    }

    func signalWorkflow(_ input: SignalWorkflowInput, next: (SignalWorkflowInput) async throws -> Void) async throws {
        var input = input
        input.headers["tenant"] = payload
        try await next(input)
    }

    func queryWorkflow(_ input: QueryWorkflowInput, next: (QueryWorkflowInput) async throws -> Payloads?) async throws -> Payloads? {
        var input = input
        input.headers["tenant"] = payload
        return try await next(input)
    }

    func startWorkflowUpdate(
        _ input: StartWorkflowUpdateInput,
        next: (StartWorkflowUpdateInput) async throws -> WorkflowUpdateHandle
    ) async throws -> WorkflowUpdateHandle {
        var input = input
        input.headers["tenant"] = payload
        return try await next(input)
    }
}

/// Reads "tenant" from every inbound header, binds it as `Tenant.current` around workflows,
/// handlers and activities, and copies it into everything a workflow starts; logs each call.
struct TenantWorkerInterceptor: WorkerInterceptor {
    let log: CallLog
    /// What the workflow body saw (replay included; `log` is silent on replay).
    let seen: CallLog

    static func tenant(_ headers: [String: Payload]) -> String {
        headers["tenant"].flatMap { try? DataConverter.default.payloadConverter.fromPayload($0, as: String.self) } ?? "none"
    }

    /// Copies the workflow's tenant into the headers of what it starts.
    private func tag(_ headers: inout [String: Payload]) {
        if let tenant = Tenant.current { headers["tenant"] = try? DataConverter.default.toPayload(tenant) }
    }

    func executeActivity(_ input: ExecuteActivityInput, next: (ExecuteActivityInput) async throws -> Payloads) async throws -> Payloads {
        let tenant = Self.tenant(input.headers)
        log.add("executeActivity \(input.context.info.activityType) \(tenant)")
        return try await Tenant.$current.withValue(tenant) { try await next(input) }
    }

    func executeWorkflow(_ input: ExecuteWorkflowInput, next: (ExecuteWorkflowInput) async throws -> Payloads) async throws -> Payloads {
        let tenant = Self.tenant(input.headers)
        seen.add("workflow \(tenant)")
        if !input.context.isReplaying { log.add("executeWorkflow \(input.context.info.workflowType) \(tenant)") }
        return try await Tenant.$current.withValue(tenant) { try await next(input) }
    }

    func handleSignal(_ input: HandleSignalInput, next: (HandleSignalInput) -> Void) {
        let tenant = Self.tenant(input.headers)
        log.add("handleSignal \(input.signalName) \(tenant)")
        Tenant.$current.withValue(tenant) { next(input) }
    }

    func handleQuery(_ input: HandleQueryInput, next: (HandleQueryInput) throws -> Payloads) throws -> Payloads {
        let tenant = Self.tenant(input.headers)
        if !input.queryType.hasPrefix("__") { log.add("handleQuery \(input.queryType) \(tenant)") }
        return try Tenant.$current.withValue(tenant) { try next(input) }
    }

    func validateUpdate(_ input: HandleUpdateInput, next: (HandleUpdateInput) throws -> Void) throws {
        log.add("validateUpdate \(input.updateName) \(Self.tenant(input.headers))")
        try next(input)
    }

    func executeUpdate(_ input: HandleUpdateInput, next: (HandleUpdateInput) async throws -> Payloads) async throws -> Payloads {
        let tenant = Self.tenant(input.headers)
        log.add("executeUpdate \(input.updateName) \(tenant)")
        return try await Tenant.$current.withValue(tenant) { try await next(input) }
    }

    func startActivity(_ input: StartActivityInput, next: (StartActivityInput) async throws -> Payloads?) async throws -> Payloads? {
        var input = input
        tag(&input.headers)
        log.add("startActivity \(input.activityType) \(Self.tenant(input.headers))")
        return try await next(input)
    }

    func startLocalActivity(
        _ input: StartLocalActivityInput,
        next: (StartLocalActivityInput) async throws -> Payloads?
    ) async throws -> Payloads? {
        var input = input
        tag(&input.headers)
        log.add("startLocalActivity \(input.activityType) \(Self.tenant(input.headers))")
        return try await next(input)
    }

    func startChildWorkflow(
        _ input: StartChildWorkflowInput,
        next: (StartChildWorkflowInput) async throws -> ChildWorkflowHandle
    ) async throws -> ChildWorkflowHandle {
        var input = input
        tag(&input.headers)
        log.add("startChildWorkflow \(input.workflowType) \(Self.tenant(input.headers))")
        return try await next(input)
    }
}

extension TenantWorkerInterceptor {
    func signalExternalWorkflow(
        _ input: SignalExternalWorkflowInput,
        next: (SignalExternalWorkflowInput) async throws -> Void
    ) async throws {
        var input = input
        tag(&input.headers)
        log.add("signalExternalWorkflow \(input.signalName) \(Self.tenant(input.headers))")
        try await next(input)
    }

    func continueAsNew(_ input: ContinueAsNewInput, next: (ContinueAsNewInput) throws -> Never) throws -> Never {
        var input = input
        tag(&input.headers)
        log.add("continueAsNew \(input.options.workflowType ?? "TenantRelay") \(Self.tenant(input.headers))")
        try next(input)
    }
}

/// Logs "<name> start" before and "<name> started" after the start call.
struct OrderInterceptor: ClientInterceptor {
    let name: String
    let log: CallLog
    func startWorkflow(_ input: StartWorkflowInput, next: (StartWorkflowInput) async throws -> WorkflowHandle) async throws
        -> WorkflowHandle
    {
        log.add("\(name) start")
        defer { log.add("\(name) started") }
        return try await next(input)
    }
}

/// Refuses signals named "forbidden" before they are sent.
struct SignalGuard: ClientInterceptor {
    struct Refused: Error {}
    func signalWorkflow(_ input: SignalWorkflowInput, next: (SignalWorkflowInput) async throws -> Void) async throws {
        if input.signalName == "forbidden" { throw Refused() }
        try await next(input)
    }
}

final class CallLog: Sendable {
    private let storage = Mutex<[String]>([])
    func add(_ entry: String) { storage.withLock { $0.append(entry) } }
    var entries: [String] { storage.withLock { $0 } }
}

// MARK: - Workflows of the tests

/// Answers query "tenant" and update "rename" with the tenant their interceptor bound; on
/// signal "go" runs activity "whoAmI" as an activity, a local activity and in a child.
final class TenantFlow: Workflow {
    var go = false
    var name = ""
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> [String] {
        context.setQueryHandler("tenant") { Tenant.current ?? "none" }
        context.setUpdateHandler("rename", argument: String.self) { name in
            self.name = name
            return "\(name)@\(Tenant.current ?? "none")"
        }
        context.setSignalHandler("go") { self.go = true }
        try await context.condition { self.go }
        let options = ActivityOptions(startToCloseTimeout: .seconds(10))
        let remote = try await context.executeActivity("whoAmI", input: "activity", options: options, as: String.self)
        let local = try await context.executeLocalActivity(
            "whoAmI", input: "local",
            options: LocalActivityOptions(startToCloseTimeout: .seconds(10)), as: String.self)
        let child = try await context.executeChildWorkflow(TenantChild.self, input: NoValue())
        return [remote, local, "child:" + child]
    }
}

/// First run: signals "ping" to the workflow its input names, then continues as new; the
/// second run returns the tenant its start header carried.
final class TenantRelay: Workflow {
    init() {}
    func run(context: WorkflowContext, input: String) async throws -> String {
        if input == "second" { return "second run: \(Tenant.current ?? "none")" }
        try await context.signalExternalWorkflow(workflowID: input, signal: "ping", NoValue())
        try context.continueAsNew(input: "second")
    }
}

/// Returns the tenant its "ping" signal's handler ran under.
final class TenantListener: Workflow {
    var tenant: String?
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        context.setSignalHandler("ping") { self.tenant = Tenant.current ?? "none" }
        try await context.condition { self.tenant != nil }
        return tenant ?? "none"
    }
}

/// Runs "whoAmI" under the tenant its start header carried.
final class TenantChild: Workflow {
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        try await context.executeActivity(
            "whoAmI", input: "activity-in-child",
            options: ActivityOptions(startToCloseTimeout: .seconds(10)), as: String.self)
    }
}
