import Foundation

@testable import LaunchpadETL
@testable import LaunchpadFixture

/// A fresh directory under the system temp dir, removed when the test ends.
final class TemporaryDirectory: Sendable {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "lpetl-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }
}

/// Runs `body` and returns the `ETLError` it throws (nil if it did not throw one).
func etlError<T>(_ body: () async throws -> T) async -> ETLError? {
    do {
        _ = try await body()
        return nil
    } catch let error as ETLError {
        return error
    } catch {
        return nil
    }
}

func sampleEvent(_ index: Int, employee: String = "alice-example", day: Int = 5) throws -> Event {
    try Event(
        id: "b-\(1000 + index)-c", parentId: "b-\(1000 + index)", employeeId: employee, type: "bug:created",
        timeUTC: "2024-03-\(day < 10 ? "0" : "")\(day)T10:00:\(String(format: "%02d", index % 60)).123456+00:00",
        relationProperties: ["bug_id": .int(1000 + index), "title": .string("Bug \(index)")]
    )
}
