import Foundation
import Temporal
import TemporalProto
import TemporalTestSupport
import Testing

/// A server that goes away in the middle of a call and comes back: the client retries.
@Suite struct ServerRestartTests {
    struct By: Decodable { var by: String }

    @Test(.timeLimit(.minutes(3)))
    func callInFlightDuringARestartIsRetried() async throws {
        let db = FileManager.default.temporaryDirectory.appendingPathComponent("restart-\(UUID()).db").path
        defer { try? FileManager.default.removeItem(atPath: db) }
        var server = try await DevServer.start(dbFile: db)
        let client = try await TemporalClient.connect(target: server.address)
        let queue = "restart-\(UUID().uuidString.prefix(8))"
        let handle = try await client.startWorkflow(type: "PyEcho", id: "restart-\(UUID())", taskQueue: queue, args: 1)

        // Wait for the result while no worker runs: a long poll is in flight when the server stops.
        let result = Task { try await handle.result(as: By.self) }
        try await Task.sleep(for: .milliseconds(500))
        server = try await server.restart()
        let peer = try await PythonPeer.start(address: server.address, taskQueue: queue)
        defer {
            peer.stop()
            server.stop()
        }

        let value = try await result.value
        #expect(value.by == "python")
    }

    /// `terminate` is retried while the server is down (it used to fail at once with
    /// UNAVAILABLE, where signal, cancel and describe waited for the server).
    @Test(.timeLimit(.minutes(3)))
    func terminateWhileTheServerRestartsIsRetried() async throws {
        let db = FileManager.default.temporaryDirectory.appendingPathComponent("restart-\(UUID()).db").path
        defer { try? FileManager.default.removeItem(atPath: db) }
        var server = try await DevServer.start(dbFile: db)
        let client = try await TemporalClient.connect(target: server.address)
        let handle = try await client.startWorkflow(
            type: "NobodyRunsThis", id: "terminate-\(UUID())", taskQueue: "restart-\(UUID().uuidString.prefix(8))", args: 1)
        server.stop()
        // Its first attempt meets no server: the new one needs a few seconds before it listens.
        // The port is taken again at once, as `restart()` does (a loaded CI run once waited a
        // second first, and the new server then never became ready on that port).
        let terminate = Task { try await handle.terminate(reason: "while the server restarts") }
        server = try await DevServer.start(port: server.port, dbFile: db)
        defer { server.stop() }
        try await terminate.value
        #expect(try await handle.describe().status == .terminated)
    }
}
