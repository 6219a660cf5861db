import Foundation

/// A CPU quota for benchmark worker processes, as a container's CPU limit would impose: a
/// cgroup of its own with `limit` cores (cgroup v1 `cpu.cfs_quota_us`/`cpu.cfs_period_us`
/// under /sys/fs/cgroup/cpu, or v2 `cpu.max`), which needs root. Removed by `remove()`.
final class CPUQuota {
    enum Version: String { case v1, v2 }

    let limit: Double
    let version: Version
    let path: String
    private static let period = 100_000

    /// - Throws: when neither cgroup version can be used (not root, no cpu controller).
    init(limit: Double) throws {
        guard limit > 0 else { throw QuotaError("--cpu-limit must be positive (cores, e.g. 0.1)") }
        self.limit = limit
        let name = "temporal-bench-\(UUID().uuidString.prefix(8))"
        let fm = FileManager.default
        if fm.fileExists(atPath: "/sys/fs/cgroup/cpu/cgroup.procs") {
            version = .v1
            path = "/sys/fs/cgroup/cpu/\(name)"
        } else if let controllers = try? String(contentsOfFile: "/sys/fs/cgroup/cgroup.controllers", encoding: .utf8),
            controllers.split(separator: " ").contains(where: { $0.hasPrefix("cpu") })
        {
            version = .v2
            path = "/sys/fs/cgroup/\(name)"
            try? "+cpu".write(toFile: "/sys/fs/cgroup/cgroup.subtree_control", atomically: false, encoding: .utf8)
        } else {
            throw QuotaError("no usable cgroup cpu controller (/sys/fs/cgroup/cpu for v1, cgroup.controllers with cpu for v2)")
        }
        do {
            try fm.createDirectory(atPath: path, withIntermediateDirectories: false)
            let quota = Int(limit * Double(Self.period))
            switch version {
            case .v1:
                try Self.write("\(Self.period)", to: "\(path)/cpu.cfs_period_us")
                try Self.write("\(quota)", to: "\(path)/cpu.cfs_quota_us")
            case .v2:
                try Self.write("\(quota) \(Self.period)", to: "\(path)/cpu.max")
            }
        } catch {
            throw QuotaError("cannot set up the CPU quota in \(path) (root needed): \(error)")
        }
    }

    /// The group's list of processes: a process that writes its pid there joins the quota.
    var processesFile: String { "\(path)/cgroup.procs" }

    /// Moves process `pid` (all its threads) into the quota.
    func add(pid: Int32) throws {
        try Self.write("\(pid)", to: processesFile)
    }

    /// Microseconds the group was throttled so far.
    var throttledMicroseconds: Double {
        guard let stat = try? String(contentsOfFile: "\(path)/cpu.stat", encoding: .utf8) else { return 0 }
        for line in stat.split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let value = Double(parts[1]) else { continue }
            if version == .v1, parts[0] == "throttled_time" { return value / 1000 }
            if version == .v2, parts[0] == "throttled_usec" { return value }
        }
        return 0
    }

    /// Removes the group (its processes must have exited).
    func remove() {
        for _ in 0..<50 {
            if rmdir(path) == 0 || errno == ENOENT { return }
            usleep(100_000)
        }
    }

    private static func write(_ text: String, to file: String) throws {
        guard let handle = FileHandle(forWritingAtPath: file) else { throw QuotaError("cannot open \(file)") }
        defer { try? handle.close() }
        try handle.write(contentsOf: Data(text.utf8))
    }

    struct QuotaError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
