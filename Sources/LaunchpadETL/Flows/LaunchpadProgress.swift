public import Temporal
import TemporalProto
import TemporalWorker

/// How far an ETL run got, as search attributes, so that runs can be filtered by progress in
/// the Web UI and with `temporal workflow list --query "LaunchpadStage = 'loaded'"`:
/// `LaunchpadStage` (`started`, `extracted`, `transformed`, `loaded`, `partial`, `failed`, and
/// `continued` on the runs a big team's run handed on from: `TeamContinuation`) and
/// `LaunchpadRows` (events staged, then inserted). A team run goes from `started` to `loaded`,
/// `partial` or `failed` (its members' runs report their own).
///
/// A run reports progress when it was started with `LaunchpadStage` set (the starters do so
/// once `startAttributes` registered the attributes): the decision comes from history, so
/// every worker replays it alike, and runs started by other clients, or before the attributes
/// could be registered, never write attributes the namespace may not know (an unknown one would
/// fail the workflow task). A patch keeps histories of older code replayable.
public enum LaunchpadProgress {
    public static let stage = SearchAttributeKey.keyword("LaunchpadStage")
    public static let rows = SearchAttributeKey.int("LaunchpadRows")
    /// The patch guarding the upserts.
    static let patch = "progress-search-attributes"

    /// The stages a run goes through.
    public enum Stage: String, Sendable {
        case started, extracted, transformed, loaded, failed
        /// A team run that handed its remaining members on to the next run of its chain
        /// (`TeamContinuation`); that run says how the team's run ends.
        case continued
        /// Loaded, but the result names what the run could not read (`FlowResult.isPartial`):
        /// green in the Web UI, and findable with `LaunchpadStage = 'partial'`.
        case partial
    }

    /// Registers the two attributes in the client's namespace when missing and returns the
    /// search attributes to start runs with (progress reporting on); `[:]` when they cannot be
    /// registered (the reason goes to `log`; runs then go without progress attributes).
    public static func startAttributes(client: TemporalClient, log: (String) -> Void) async -> [String: any Encodable & Sendable] {
        do {
            let added = try await client.ensureSearchAttributes([stage.name: .keyword, rows.name: .int])
            if !added.isEmpty { log("registered search attributes \(added.joined(separator: ", ")) in namespace \(client.namespace)") }
            return [stage.name: Stage.started.rawValue]
        } catch {
            log(
                "runs start without progress search attributes (\(stage.name), \(rows.name)): cannot register them in namespace \(client.namespace): \(error). Register them once with: temporal operator search-attribute create --name \(stage.name) --type Keyword; temporal operator search-attribute create --name \(rows.name) --type Int"
            )
            return [:]
        }
    }

    /// In workflow code: whether this run reports progress (see the type's documentation);
    /// `patch` guards the flow's upserts (each flow has its own).
    static func isEnabled(_ context: WorkflowContext, patch: String = patch) -> Bool {
        context.searchAttribute(stage) != nil && context.patched(patch)
    }

    /// In workflow code: runs a flow's `body` and, when `enabled`, records how it ended:
    /// `partial` or `loaded` (with the rows it inserted) from its result, `failed` when it
    /// throws. (An upsert's values are not matched on replay: runs that ended before `partial`
    /// existed replay alike.)
    static func tracking(
        _ context: WorkflowContext, enabled: Bool, _ body: () async throws -> FlowResult
    ) async throws -> FlowResult {
        do {
            let result = try await body()
            if enabled { report(context, result.isPartial ? .partial : .loaded, rows: result.itemsInserted) }
            return result
        } catch let error as ContinueAsNewError {
            throw error  // not an end: the next run carries the attributes and reports how it ends
        } catch {
            if enabled { report(context, .failed) }
            throw error
        }
    }

    /// In workflow code: `body` (a flow's reading of its input); when it throws, a run that
    /// reports progress records `failed` first (it stayed at `started`, out of the failed runs'
    /// list, however often it failed). Runs that failed so before replay alike: their history
    /// holds no marker of the patch, so no upsert is made.
    static func failing<T>(_ context: WorkflowContext, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw failed(context, error)
        }
    }

    /// In workflow code: records `failed` when the run reports progress, and returns `error`.
    static func failed(_ context: WorkflowContext, _ error: any Error) -> any Error {
        if isEnabled(context) { report(context, .failed) }
        return error
    }

    /// In workflow code: records `stage` (and `rows` when given).
    static func report(_ context: WorkflowContext, _ stage: Stage, rows: Int? = nil) {
        var updates = [Self.stage.value(stage.rawValue)]
        if let rows { updates.append(Self.rows.value(rows)) }
        context.upsertSearchAttributes(updates)
    }
}
