import Dispatch
import Synchronization

/// Wakes waiters at their deadlines with one dispatch timer for the whole process.
///
/// A timer source per wait costs two hand-overs to libdispatch's manager thread (arming it and
/// cancelling it), and an activity attempt waits on its deadline every time: about 4 % of a
/// worker's CPU per workflow task under load. Here, an alarm is an entry in a min-heap; the one
/// timer is moved only when an alarm comes due earlier than the one it is set for, which is
/// rare (deadlines of a task queue mostly grow with time), and cancelling an alarm only forgets
/// it. The timer fires on a global queue; whoever it wakes must not block.
final class DeadlineAlarms: Sendable {
    static let shared = DeadlineAlarms()

    /// Identifies one scheduled alarm, for `cancel`.
    struct Ticket: Sendable, Hashable {
        fileprivate let id: UInt64
    }

    private struct Slot: Comparable {
        let due: UInt64  // DispatchTime.uptimeNanoseconds
        let id: UInt64
        static func < (a: Slot, b: Slot) -> Bool { (a.due, a.id) < (b.due, b.id) }
    }

    private struct State {
        /// Every alarm still wanted, by ticket.
        var live: [UInt64: @Sendable () -> Void] = [:]
        /// Min-heap of due times; slots whose ticket left `live` are skipped (and dropped).
        var heap: [Slot] = []
        var nextID: UInt64 = 0
        /// When the timer is set to fire (nil: not set).
        var armedFor: UInt64?
    }

    private let state = Mutex(State())
    private let timer: TimerBox

    /// A dispatch timer is thread-safe (schedule from any thread).
    private struct TimerBox: @unchecked Sendable {
        let source: any DispatchSourceTimer
    }

    init(queue: DispatchQueue = .global()) {
        let source = DispatchSource.makeTimerSource(queue: queue)
        timer = TimerBox(source: source)
        source.setEventHandler { [weak self] in self?.fireDue() }
        source.schedule(deadline: .distantFuture)
        source.resume()
    }

    deinit {
        timer.source.cancel()
    }

    /// Number of alarms scheduled and not cancelled or fired (for tests).
    var pending: Int { state.withLock { $0.live.count } }

    /// Slots in the heap, cancelled ones included (for tests).
    var heapSize: Int { state.withLock { $0.heap.count } }

    /// Calls `wake` at `deadline` (on a global queue) unless `cancel` came first.
    func schedule(at deadline: DispatchTime, _ wake: @escaping @Sendable () -> Void) -> Ticket {
        state.withLock { s in
            let id = s.nextID
            s.nextID &+= 1
            s.live[id] = wake
            push(Slot(due: deadline.uptimeNanoseconds, id: id), into: &s.heap)
            if s.armedFor.map({ deadline.uptimeNanoseconds < $0 }) ?? true {
                arm(for: deadline.uptimeNanoseconds, in: &s)
            }
            compactIfSparse(&s)
            return Ticket(id: id)
        }
    }

    /// Forgets an alarm; it will not be called (unless it is being called already).
    func cancel(_ ticket: Ticket) {
        state.withLock { s in
            _ = s.live.removeValue(forKey: ticket.id)
            // The timer stays set; when it fires for nothing it re-arms for the next live alarm.
        }
    }

    private func fireDue() {
        let now = DispatchTime.now().uptimeNanoseconds
        let due = state.withLock { s -> [@Sendable () -> Void] in
            var wakes: [@Sendable () -> Void] = []
            s.armedFor = nil
            while let top = s.heap.first {
                if let wake = s.live[top.id] {
                    if top.due > now {
                        arm(for: top.due, in: &s)
                        break
                    }
                    wakes.append(wake)
                    s.live[top.id] = nil
                }
                popMin(&s.heap)
            }
            return wakes
        }
        for wake in due { wake() }
    }

    private func arm(for due: UInt64, in s: inout State) {
        s.armedFor = due
        timer.source.schedule(deadline: DispatchTime(uptimeNanoseconds: due))
    }

    /// Rebuilds the heap from the live alarms once most of its slots are cancelled ones, so a
    /// worker whose attempts end long before their deadlines holds memory for live alarms only.
    private func compactIfSparse(_ s: inout State) {
        guard s.heap.count > 64, s.heap.count > 4 * s.live.count else { return }
        var kept = s.heap.filter { s.live[$0.id] != nil }
        kept.sort()  // a sorted array is a valid min-heap
        s.heap = kept
    }

    private func push(_ slot: Slot, into heap: inout [Slot]) {
        heap.append(slot)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child] < heap[parent] else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private func popMin(_ heap: inout [Slot]) {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { break }
            let right = left + 1
            let smaller = right < heap.count && heap[right] < heap[left] ? right : left
            guard heap[smaller] < heap[parent] else { break }
            heap.swapAt(smaller, parent)
            parent = smaller
        }
    }
}
