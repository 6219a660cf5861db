import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// CPU time and peak memory of another process, from /proc.
struct ProcessStats {
    /// User + system CPU time.
    var cpu: Duration
    /// Peak resident set size in bytes (VmHWM).
    var peakRSS: Int

    static func read(pid: Int32) -> ProcessStats? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // Fields after the command name: state is field 3; utime 14, stime 15 (1-based).
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let utime = Int(fields[11]), let stime = Int(fields[12]) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let cpu = Duration.milliseconds(Int64(Double(utime + stime) / ticks * 1000))
        var rss = 0
        if let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
        {
            rss = (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
        }
        return ProcessStats(cpu: cpu, peakRSS: rss)
    }
}

/// Memory a process really costs, from /proc/<pid>/smaps_rollup: PSS (its private pages plus
/// its share of pages shared with other processes, e.g. libraries) and USS (private pages only,
/// what stopping it would free). RSS counts every shared library page in full, which is most of
/// a Swift worker's RSS.
struct MemoryStats: Sendable {
    var pss = 0
    var uss = 0

    static func read(pid: Int32) -> MemoryStats? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/smaps_rollup", encoding: .utf8) else { return nil }
        var stats = MemoryStats()
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count >= 2, let kb = Int(parts[1]) else { continue }
            switch parts[0] {
            case "Pss:": stats.pss = kb * 1024
            case "Private_Clean:", "Private_Dirty:": stats.uss += kb * 1024
            default: break
            }
        }
        return stats
    }
}

/// Samples the summed PSS and USS of processes every 100 ms and keeps the peaks.
final class MemorySampler: @unchecked Sendable {
    private let lock = NSLock()
    private var peak = MemoryStats()
    private var task: Task<Void, Never>?

    init(pids: [Int32]) {
        task = Task { [weak self] in
            while !Task.isCancelled {
                var total = MemoryStats()
                for pid in pids {
                    guard let m = MemoryStats.read(pid: pid) else { continue }
                    total.pss += m.pss
                    total.uss += m.uss
                }
                self?.record(total)
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    private func record(_ m: MemoryStats) {
        lock.lock()
        peak.pss = max(peak.pss, m.pss)
        peak.uss = max(peak.uss, m.uss)
        lock.unlock()
    }

    /// Stops sampling; the peaks seen.
    func stop() -> MemoryStats {
        task?.cancel()
        lock.lock()
        defer { lock.unlock() }
        return peak
    }
}

extension ProcessStats {
    /// CPU summed over processes; peak RSS summed too (the memory the workers hold together).
    static func sum(_ all: [ProcessStats?]) -> ProcessStats? {
        var total = ProcessStats(cpu: .zero, peakRSS: 0)
        for s in all {
            guard let s else { return nil }
            total.cpu += s.cpu
            total.peakRSS += s.peakRSS
        }
        return total
    }
}

extension Duration {
    var ms: Double { Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15 }
}

/// The q-quantile (0…1) of already-sorted values.
func quantile(_ sorted: [Double], _ q: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let i = min(sorted.count - 1, max(0, Int((Double(sorted.count - 1) * q).rounded())))
    return sorted[i]
}
