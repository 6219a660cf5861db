import LaunchpadETL

/// The deterministic data the fixture server serves.
///
/// - `alice-example`: a handful of items covering every event type and edge case in March
///   2024 (a bug with two tasks, a resolved bug created earlier that she commented on, a
///   duplicate, comments on the window's boundaries, a superseded MP with a new comment, a
///   review of someone else's MP, an expired question she commented on, a tag she added). 24 events.
/// - `bob-example`: her reviewer; `dave-quiet`: no activity of his own runs find (his one
///   vote, on bob's proposal 470002, only a team run credits).
/// - `carol-busy`: 310 bugs reported, one old bug with 320 of her comments, 12 MPs and 5
///   questions in March 2024 (981 events), so collections span several 300-entry pages.
/// - `gina-prolific`: 330 merge proposals of her own in March 2024, 10 of them private (left
///   out of her listings, or counted and cut from their pages with `privacyAfterTheCut`), so
///   her proposal listings span two 300-entry pages (320 events).
/// - `example-team`: a team whose members are those four people (`exampleTeamMembers`), so
///   its members collection spans several pages at a small page size, and four former members
///   (`addFormerMembers`).
public enum FixtureDataset {
    /// The members of `example-team`, in the order Launchpad lists them (by name).
    public static let exampleTeamMembers = ["alice-example", "bob-example", "carol-busy", "dave-quiet"]

    /// Events `alice-example` has in March 2024.
    public static let aliceMarch2024EventCount = 24
    /// Events `carol-busy` has in March 2024.
    public static let carolMarch2024EventCount = 981

    /// Events `gina-prolific` has in March 2024 (one per public proposal).
    public static let ginaMarch2024EventCount = 320

    /// The standard world.
    public static let standard: FixtureWorld = build()

    /// The one OAuth access token the standard world has issued: to the consumer
    /// `lpetl-tests`, for alice-example, with this secret.
    public static let accessToken = (token: "fixture-access-token", secret: "fixture-access-secret", consumerKey: "lpetl-tests")

    static func t(_ text: String) -> UTCTimestamp {
        // Literals below are well-formed; a typo would surface as the epoch in tests.
        UTCTimestamp(parsing: text) ?? UTCTimestamp(microsecondsSinceEpoch: 0)
    }

    /// henry-teamwork proposes from his team's repository (`~henry-team/henry-project`), as
    /// people do from a team-owned repository: his own `getMergeProposals` does not list it
    /// (Launchpad lists proposals from repositories the person owns), the team's does. He has
    /// no bugs and no proposals of his own, so nothing else leads to the project.
    static func addHenry(to world: inout FixtureWorld) {
        world.people["henry-teamwork"] = FixtureWorld.Person(name: "henry-teamwork", displayName: "Henry Teamwork", timeZone: "UTC")
        world.teams["henry-team"] = FixtureWorld.Team(name: "henry-team", displayName: "Henry's Team", members: ["henry-teamwork"])
        world.mergeProposals[610_001] = FixtureWorld.MergeProposal(
            id: 610_001, sourceOwner: "henry-team", project: "henry-project", branch: "team-feature", registrant: "henry-teamwork",
            status: "Needs review", created: t("2024-03-04T09:00:00+00:00"), reviewRequested: t("2024-03-04T09:00:00+00:00"),
            comments: [
                .init(id: 1_410_001, author: "henry-teamwork", date: t("2024-03-05T09:00:00+00:00"), vote: nil, content: "Rebased.")
            ]
        )
    }

    /// bea-bazaar proposes a Bazaar branch into bzr-tool, and comments (no vote, not asked) on
    /// tom's Bazaar proposal there: only her own proposal's target branch leads to the project
    /// (a Bazaar proposal's Git fields are null), and `getRequestedReviews` lists neither.
    static func addBea(to world: inout FixtureWorld) {
        for (name, display) in [("bea-bazaar", "Bea Bazaar"), ("tom-bazaar", "Tom Bazaar")] {
            world.people[name] = FixtureWorld.Person(name: name, displayName: display, timeZone: "UTC")
        }
        var own = FixtureWorld.MergeProposal(
            id: 650_001, sourceOwner: "bea-bazaar", project: "bzr-tool", branch: "fix-ui", registrant: "bea-bazaar",
            status: "Needs review", created: t("2024-03-04T09:00:00+00:00"), reviewRequested: t("2024-03-04T09:00:00+00:00"))
        own.bazaar = true
        var toms = FixtureWorld.MergeProposal(
            id: 650_002, sourceOwner: "tom-bazaar", project: "bzr-tool", branch: "speed-up", registrant: "tom-bazaar",
            status: "Needs review", created: t("2024-03-06T09:00:00+00:00"), reviewRequested: t("2024-03-06T09:00:00+00:00"),
            comments: [
                .init(id: 1_450_001, author: "bea-bazaar", date: t("2024-03-07T09:00:00+00:00"), vote: nil, content: "Looks faster here.")
            ])
        toms.bazaar = true
        world.mergeProposals[own.id] = own
        world.mergeProposals[toms.id] = toms
    }

    /// uma-personal proposes her personal repository into vera-owner's personal repository
    /// `~vera-owner/+git/widgets` (no project: Launchpad lists such proposals only by that
    /// repository's `getMergeProposals`, devel), and reviews vera's own proposal into it: only her
    /// own proposal's target repository leads there.
    static func addUma(to world: inout FixtureWorld) {
        for (name, display) in [("uma-personal", "Uma Personal"), ("vera-owner", "Vera Owner")] {
            world.people[name] = FixtureWorld.Person(name: name, displayName: display, timeZone: "UTC")
        }
        var own = FixtureWorld.MergeProposal(
            id: 660_001, sourceOwner: "uma-personal", project: "widgets", branch: "widgets-uma", registrant: "uma-personal",
            status: "Needs review", created: t("2024-03-04T09:00:00+00:00"), reviewRequested: t("2024-03-04T09:00:00+00:00"),
            requestedReviewers: ["vera-owner"])
        own.personalTarget = "~vera-owner/+git/widgets"
        var veras = FixtureWorld.MergeProposal(
            id: 660_002, sourceOwner: "vera-owner", project: "widgets", branch: "widgets-next", registrant: "vera-owner",
            status: "Needs review", created: t("2024-03-06T09:00:00+00:00"), reviewRequested: t("2024-03-06T09:00:00+00:00"),
            requestedReviewers: ["uma-personal"],
            comments: [
                .init(id: 1_460_001, author: "uma-personal", date: t("2024-03-07T09:00:00+00:00"), vote: "Approve", content: "Works here.")
            ])
        veras.personalTarget = "~vera-owner/+git/widgets"
        world.mergeProposals[own.id] = own
        world.mergeProposals[veras.id] = veras
    }

    /// kate-maintainer owns kate-project and is in kate-team, which owns kate-team-project;
    /// liam-contributor proposes into both, and kate reviews. Nothing else leads to them: she has
    /// no bugs and no proposals, and Launchpad lists Git proposals by project, not by reviewer.
    static func addKate(to world: inout FixtureWorld) {
        for (name, display) in [("kate-maintainer", "Kate Maintainer"), ("liam-contributor", "Liam Contributor")] {
            world.people[name] = FixtureWorld.Person(name: name, displayName: display, timeZone: "UTC")
        }
        world.teams["kate-team"] = FixtureWorld.Team(name: "kate-team", displayName: "Kate's Team", members: ["kate-maintainer"])
        world.projectOwners["kate-project"] = "kate-maintainer"
        world.projectOwners["kate-team-project"] = "kate-team"
        world.mergeProposals[620_001] = FixtureWorld.MergeProposal(
            id: 620_001, sourceOwner: "liam-contributor", project: "kate-project", branch: "fix-docs", registrant: "liam-contributor",
            status: "Needs review", created: t("2024-03-04T09:00:00+00:00"), reviewRequested: t("2024-03-04T09:00:00+00:00"),
            comments: [
                .init(
                    id: 1_420_001, author: "kate-maintainer", date: t("2024-03-06T09:00:00+00:00"), vote: "Needs Fixing",
                    content: "A test, please.")
            ]
        )
        world.mergeProposals[620_002] = FixtureWorld.MergeProposal(
            id: 620_002, sourceOwner: "liam-contributor", project: "kate-team-project", branch: "feature", registrant: "liam-contributor",
            status: "Needs review", created: t("2024-03-05T09:00:00+00:00"), reviewRequested: t("2024-03-05T09:00:00+00:00"),
            comments: [
                .init(id: 1_420_002, author: "kate-maintainer", date: t("2024-03-07T09:00:00+00:00"), vote: "Approve", content: "Thanks.")
            ]
        )
    }

    static func build() -> FixtureWorld {
        var world = FixtureWorld(people: [:], bugs: [:], mergeProposals: [:], questions: [:])
        for (name, display, zone) in [
            ("alice-example", "Alice Example", "Europe/Madrid"), ("bob-example", "Bob Example", "Europe/London"),
            ("carol-busy", "Carol Busy", "America/Sao_Paulo"), ("dave-quiet", "Dave Quiet", "UTC"),
            ("gina-prolific", "Gina Prolific", "Asia/Tokyo"),
        ] {
            world.people[name] = FixtureWorld.Person(name: name, displayName: display, timeZone: zone)
        }
        // Deactivated accounts, renamed by Launchpad: ivan's old name is free; dave-quiet's was
        // registered again by someone else (the dave-quiet above).
        for name in ["ivan-deactivatedaccount", "dave-quiet-deactivatedaccount"] {
            world.people[name] = FixtureWorld.Person(name: name, displayName: "Deactivated", timeZone: "UTC")
        }
        world.people["erin-suspended"] = FixtureWorld.Person(
            name: "erin-suspended", displayName: "Erin Suspended", timeZone: "UTC", suspended: true)
        world.teams["example-team"] = FixtureWorld.Team(name: "example-team", displayName: "Example Team", members: exampleTeamMembers)
        // Sub-teams, a membership cycle, a person in two teams and a suspended account.
        world.teams["parent-team"] = FixtureWorld.Team(
            name: "parent-team", displayName: "Parent Team",
            members: ["alice-example", "sub-team", "erin-suspended"])
        world.teams["sub-team"] = FixtureWorld.Team(
            name: "sub-team", displayName: "Sub Team",
            members: ["bob-example", "alice-example", "parent-team", "inner-team"])
        world.teams["inner-team"] = FixtureWorld.Team(name: "inner-team", displayName: "Inner Team", members: ["dave-quiet"])
        world.accessTokens[accessToken.token] = FixtureWorld.AccessToken(
            consumerKey: accessToken.consumerKey, secret: accessToken.secret, owner: "alice-example")
        addHenry(to: &world)
        addBea(to: &world)
        addKate(to: &world)
        addUma(to: &world)
        addAlice(to: &world)
        addCarol(to: &world)
        addFrank(to: &world)
        addIvan(to: &world)
        addOlga(to: &world)
        addPaul(to: &world)
        addGina(to: &world)
        addRavi(to: &world)
        addTess(to: &world)
        addNina(to: &world)
        addFormerMembers(to: &world)
        addReapplied(to: &world)
        addPrivateSubTeam(to: &world)
        addTeamSeenByNameOnly(to: &world)
        addCrowd(to: &world)
        return world
    }

    /// The people of `crowd-team` besides alice-example, who have no activity of their own.
    public static let crowdMembers = (1...16).map { "crowd-\($0 < 10 ? "0" : "")\($0)" }

    /// `crowd-team`: alice-example and sixteen quiet people, a team whose members' runs outgrow
    /// one workflow history on a server with low history limits.
    static func addCrowd(to world: inout FixtureWorld) {
        for name in crowdMembers { world.people[name] = FixtureWorld.Person(name: name, displayName: "Crowd \(name)", timeZone: "UTC") }
        world.teams["crowd-team"] = FixtureWorld.Team(
            name: "crowd-team", displayName: "Crowd Team", members: ["alice-example"] + crowdMembers)
    }

    /// Former members of `example-team` (`StartLaunchpadWorkflow --former-members`): for a
    /// March 2024 window, henry-teamwork (expired 2024-03-10) and frank-edge (deactivated:
    /// Launchpad records no date for that, and he joined before the window) may have been
    /// members during it; grace-owner (expired 2023-12-31) and gina-prolific (joined 2024-05-01,
    /// then deactivated) were not.
    public static let exampleTeamFormerMembersInMarch2024 = ["frank-edge", "henry-teamwork"]

    /// `squad-team` (alice-example), whose sub-team `left-squad` (gina-prolific, henry-teamwork)
    /// expired from it on 2024-03-20, `old-squad` (henry-teamwork) on 2023-06-30 and the private
    /// `private-squad` on 2024-03-25 (counted in the listing, not shown); henry's own membership
    /// expired on 2023-01-31. left-squad's own former members: carol-busy (left it on
    /// 2024-03-15) and dave-quiet (a member of it from 2024-03-22 to 03-28, after it had left
    /// squad-team); its sub-team `renamed-squad` vanished after it was listed (404). For March
    /// 2024, gina and henry were members through left-squad, carol through it until the 15th,
    /// and frank-edge through late-squad (see below).
    public static let squadTeamFormerPeopleInMarch2024 = ["gina-prolific", "henry-teamwork", "carol-busy", "frank-edge"]

    /// `mixed-team`: alice-example and the private team `private-squad` (bob-example), which
    /// its members listing counts but does not show.
    static func addPrivateSubTeam(to world: inout FixtureWorld) {
        world.teams["mixed-team"] = FixtureWorld.Team(
            name: "mixed-team", displayName: "Mixed Team", members: ["alice-example", "private-squad"])
        world.teams["private-squad"] = FixtureWorld.Team(
            name: "private-squad", displayName: "Private Squad", members: ["bob-example"], isPrivate: true)
    }

    /// `corp-team`: alice-example and the private team `corp-secret` (quinn-corp), which the
    /// fixture's reader sees by name only (its members answer 401); `corp-alumni`, private and
    /// seen by name only too (rory-corp), left corp-team on 2024-03-20.
    static func addTeamSeenByNameOnly(to world: inout FixtureWorld) {
        world.people["quinn-corp"] = FixtureWorld.Person(name: "quinn-corp", displayName: "Quinn Corp", timeZone: "UTC")
        world.people["rory-corp"] = FixtureWorld.Person(name: "rory-corp", displayName: "Rory Corp", timeZone: "UTC")
        world.teams["corp-team"] = FixtureWorld.Team(
            name: "corp-team", displayName: "Corp Team", members: ["alice-example", "corp-secret"])
        world.teams["corp-secret"] = FixtureWorld.Team(
            name: "corp-secret", displayName: "Corp Secret", members: ["quinn-corp"], isPrivate: true, seenByNameOnly: true)
        world.teams["corp-alumni"] = FixtureWorld.Team(
            name: "corp-alumni", displayName: "Corp Alumni", members: ["rory-corp"], isPrivate: true, seenByNameOnly: true)
        world.teams["corp-team"]?.formerMembers = [
            "corp-alumni": .init(status: "Expired", joined: t("2022-01-01T00:00:00+00:00"), expires: t("2024-03-20T00:00:00+00:00"))
        ]
    }

    /// `reapply-team`: alice-example; ivy-reapplied was a member from 2022 until her membership
    /// expired, and has applied again since (Proposed: her old expiry is overwritten, so her
    /// span runs to the window's end); zed-applicant has only ever applied.
    static func addReapplied(to world: inout FixtureWorld) {
        world.people["ivy-reapplied"] = FixtureWorld.Person(name: "ivy-reapplied", displayName: "Ivy Reapplied", timeZone: "UTC")
        world.people["zed-applicant"] = FixtureWorld.Person(name: "zed-applicant", displayName: "Zed Applicant", timeZone: "UTC")
        world.teams["reapply-team"] = FixtureWorld.Team(name: "reapply-team", displayName: "Reapply Team", members: ["alice-example"])
        world.teams["reapply-team"]?.formerMembers = [
            "ivy-reapplied": .init(status: "Proposed", joined: t("2022-01-01T00:00:00+00:00"), expires: nil),
            "zed-applicant": .init(status: "Proposed", joined: nil, expires: nil),
        ]
    }

    static func addFormerMembers(to world: inout FixtureWorld) {
        world.teams["squad-team"] = FixtureWorld.Team(name: "squad-team", displayName: "Squad Team", members: ["alice-example"])
        world.teams["left-squad"] = FixtureWorld.Team(
            name: "left-squad", displayName: "Left Squad", members: ["gina-prolific", "henry-teamwork", "renamed-squad"])
        world.teams["left-squad"]?.formerMembers = [
            "carol-busy": .init(status: "Expired", joined: t("2022-01-01T00:00:00+00:00"), expires: t("2024-03-15T00:00:00+00:00")),
            "dave-quiet": .init(status: "Expired", joined: t("2024-03-22T00:00:00+00:00"), expires: t("2024-03-28T00:00:00+00:00")),
        ]
        world.teams["renamed-squad"] = FixtureWorld.Team(name: "renamed-squad", displayName: "Renamed Squad", members: [], vanished: true)
        world.teams["old-squad"] = FixtureWorld.Team(name: "old-squad", displayName: "Old Squad", members: ["henry-teamwork"])
        world.teams["squad-team"]?.formerMembers = [
            "left-squad": .init(status: "Expired", joined: t("2022-01-01T00:00:00+00:00"), expires: t("2024-03-20T00:00:00+00:00")),
            "old-squad": .init(status: "Expired", joined: t("2022-01-01T00:00:00+00:00"), expires: t("2023-06-30T00:00:00+00:00")),
            "henry-teamwork": .init(status: "Expired", joined: t("2021-01-01T00:00:00+00:00"), expires: t("2023-01-31T00:00:00+00:00")),
            "private-squad": .init(status: "Expired", joined: t("2022-01-01T00:00:00+00:00"), expires: t("2024-03-25T00:00:00+00:00")),
        ]
        // early-squad left on 2024-03-05 and holds late-squad, which left itself on 03-30;
        // frank-edge was in late-squad from 03-10 to 03-25: reached through early-squad first
        // (listings are by name), late-squad must still be read over its own, longer span.
        world.teams["early-squad"] = FixtureWorld.Team(name: "early-squad", displayName: "Early Squad", members: ["late-squad"])
        world.teams["late-squad"] = FixtureWorld.Team(name: "late-squad", displayName: "Late Squad", members: [])
        world.teams["late-squad"]?.formerMembers = [
            "frank-edge": .init(status: "Expired", joined: t("2024-03-10T00:00:00+00:00"), expires: t("2024-03-25T00:00:00+00:00"))
        ]
        world.teams["squad-team"]?.formerMembers["early-squad"] = .init(
            status: "Expired", joined: t("2022-01-01T00:00:00+00:00"), expires: t("2024-03-05T00:00:00+00:00"))
        world.teams["squad-team"]?.formerMembers["late-squad"] = .init(
            status: "Expired", joined: t("2022-01-01T00:00:00+00:00"), expires: t("2024-03-30T00:00:00+00:00"))
        // quiet-team: dave-quiet, and the deactivated account whose old name he registered.
        world.teams["quiet-team"] = FixtureWorld.Team(name: "quiet-team", displayName: "Quiet Team", members: ["dave-quiet"])
        world.teams["quiet-team"]?.formerMembers = [
            "dave-quiet-deactivatedaccount": .init(status: "Deactivated", joined: t("2020-01-01T00:00:00+00:00"), expires: nil)
        ]
        world.teams["example-team"]?.formerMembers = [
            "henry-teamwork": .init(status: "Expired", joined: t("2023-01-01T00:00:00+00:00"), expires: t("2024-03-10T00:00:00+00:00")),
            "frank-edge": .init(status: "Deactivated", joined: t("2020-01-01T00:00:00+00:00"), expires: nil),
            "grace-owner": .init(status: "Expired", joined: t("2022-01-01T00:00:00+00:00"), expires: t("2023-12-31T00:00:00+00:00")),
            "gina-prolific": .init(status: "Deactivated", joined: t("2024-05-01T00:00:00+00:00"), expires: nil),
        ]
    }

    /// 330 proposals of `gina-prolific` into `gina-project`: a listing longer than Launchpad's
    /// largest page, one in 33 private (an anonymous client never sees them). 300 are merged;
    /// the other 30 need review, 10 of those private.
    static func addGina(to world: inout FixtureWorld) {
        let base = t("2024-03-02T00:00:00+00:00")
        for index in 0..<330 {
            let created = UTCTimestamp(microsecondsSinceEpoch: base.microsecondsSinceEpoch + Int64(index) * 3_600_000_000)
            world.mergeProposals[700_000 + index] = FixtureWorld.MergeProposal(
                id: 700_000 + index, sourceOwner: "gina-prolific", project: "gina-project", branch: "change-\(index)",
                registrant: "gina-prolific", status: index % 11 == 0 ? "Needs review" : "Merged", created: created,
                isPrivate: index % 33 == 0)
        }
    }

    /// 330 Bazaar proposals of `rae-bazaar` into `rae-project` that need review, each asked of
    /// `ravi-reviewer`: his `getRequestedReviews` is longer than Launchpad's largest page, one
    /// in 33 private (as gina's).
    static func addRavi(to world: inout FixtureWorld) {
        for (name, display) in [("ravi-reviewer", "Ravi Reviewer"), ("rae-bazaar", "Rae Bazaar")] {
            world.people[name] = FixtureWorld.Person(name: name, displayName: display, timeZone: "UTC")
        }
        let base = t("2024-03-02T00:00:00+00:00")
        for index in 0..<330 {
            let created = UTCTimestamp(microsecondsSinceEpoch: base.microsecondsSinceEpoch + Int64(index) * 3_600_000_000)
            var proposal = FixtureWorld.MergeProposal(
                id: 710_000 + index, sourceOwner: "rae-bazaar", project: "rae-project", branch: "change-\(index)",
                registrant: "rae-bazaar", status: "Needs review", created: created, reviewRequested: created,
                requestedReviewers: ["ravi-reviewer"], isPrivate: index % 33 == 0)
            proposal.bazaar = true
            world.mergeProposals[proposal.id] = proposal
        }
    }

    /// `tess-teams` is in 40 teams (`tess-team-00` … `tess-team-39`, as a staff member is, most
    /// through other teams), none owning a project; she registered one proposal in March from
    /// the last team's repository, which only that team's `getMergeProposals` lists.
    static func addTess(to world: inout FixtureWorld) {
        world.people["tess-teams"] = FixtureWorld.Person(name: "tess-teams", displayName: "Tess Teams", timeZone: "UTC")
        for index in 0..<40 {
            let name = "tess-team-" + (index < 10 ? "0" : "") + String(index)
            world.teams[name] = FixtureWorld.Team(name: name, displayName: "Tess's team \(index)", members: ["tess-teams"])
        }
        world.mergeProposals[720_001] = FixtureWorld.MergeProposal(
            id: 720_001, sourceOwner: "tess-team-39", project: "tess-project", branch: "shared-fix", registrant: "tess-teams",
            status: "Needs review", created: t("2024-03-11T09:00:00+00:00"), reviewRequested: t("2024-03-11T09:00:00+00:00"))
    }

    static func addAlice(to world: inout FixtureWorld) {
        typealias B = FixtureWorld.Bug
        typealias M = FixtureWorld.Message
        typealias A = FixtureWorld.Activity
        let netplanUbuntu = "netplan.io (Ubuntu)"
        world.bugs[2_056_789] = B(
            id: 2_056_789, title: "DHCP lease not renewed after link flap", owner: "alice-example",
            created: t("2024-03-04T09:58:12.904411+00:00"),
            tasks: [
                .init(
                    target: "ubuntu/+source/netplan.io", targetName: netplanUbuntu, status: "Fix Released", importance: "High",
                    assignee: "alice-example"),
                .init(target: "netplan", targetName: "netplan", status: "Fix Released", importance: "Medium", assignee: nil),
            ],
            messages: [
                M(
                    owner: "alice-example", date: t("2024-03-04T09:58:12.904411+00:00"),
                    content: "After unplugging the cable the lease is never renewed."),
                M(owner: "bob-example", date: t("2024-03-04T10:05:37.220913+00:00"), content: "Confirmed on noble."),
                M(owner: "alice-example", date: t("2024-03-19T16:44:03.731927+00:00"), content: "Fixed in 1.0-2ubuntu1.1"),
            ],
            activity: [
                A(
                    person: "alice-example", date: t("2024-03-04T09:58:12.904411+00:00"), whatChanged: "bug", oldValue: nil, newValue: nil,
                    message: "added bug"),
                A(
                    person: "alice-example", date: t("2024-03-04T10:02:55.118260+00:00"), whatChanged: "\(netplanUbuntu): status",
                    oldValue: "New", newValue: "Confirmed"),
                A(
                    person: "alice-example", date: t("2024-03-04T10:02:55.118260+00:00"), whatChanged: "\(netplanUbuntu): importance",
                    oldValue: "Undecided", newValue: "High"),
                A(
                    person: "alice-example", date: t("2024-03-04T10:03:10+00:00"), whatChanged: "\(netplanUbuntu): assignee", oldValue: nil,
                    newValue: "Alice Example (alice-example)"),
                A(
                    person: "bob-example", date: t("2024-03-12T13:20:09.552804+00:00"), whatChanged: "\(netplanUbuntu): status",
                    oldValue: "Confirmed", newValue: "Fix Committed"),
                A(
                    person: "alice-example", date: t("2024-03-19T16:44:03.731927+00:00"), whatChanged: "\(netplanUbuntu): status",
                    oldValue: "Fix Committed", newValue: "Fix Released"),
                A(person: "alice-example", date: t("2024-03-05T08:00:00+00:00"), whatChanged: "tags", oldValue: "", newValue: "networking"),
            ],
            tags: ["networking"]
        )
        world.bugs[2_057_001] = B(
            id: 2_057_001, title: "netplan get prints empty mapping for bonds", owner: "alice-example",
            created: t("2024-03-06T15:11:48+00:00"),
            tasks: [.init(target: "netplan", targetName: "netplan", status: "New", importance: "Undecided", assignee: nil)],
            messages: [M(owner: "alice-example", date: t("2024-03-06T15:11:48+00:00"), content: "bonds: {} is printed")],
            activity: [
                A(
                    person: "alice-example", date: t("2024-03-06T15:11:48+00:00"), whatChanged: "bug", oldValue: nil, newValue: nil,
                    message: "added bug")
            ]
        )
        // Created before the window by bob, resolved (Won't Fix): the original missed these comments.
        world.bugs[1_990_001] = B(
            id: 1_990_001, title: "Old resolver bug", owner: "bob-example", created: t("2023-11-20T08:00:00+00:00"),
            tasks: [
                .init(
                    target: "ubuntu/+source/systemd", targetName: "systemd (Ubuntu)", status: "Won't Fix", importance: "Low", assignee: nil)
            ],
            messages: [
                M(owner: "bob-example", date: t("2023-11-20T08:00:00+00:00"), content: "resolver loops"),
                M(
                    owner: "alice-example", date: t("2024-03-08T12:00:00.5+00:00"),
                    content: "Still happens on noble, but upstream won't fix."),
                M(owner: "alice-example", date: t("2024-02-28T10:00:00+00:00"), content: "(edited out-of-window comment)"),
            ],
            activity: [
                A(
                    person: "bob-example", date: t("2023-11-20T08:00:00+00:00"), whatChanged: "bug", oldValue: nil, newValue: nil,
                    message: "added bug"),
                A(
                    person: "alice-example", date: t("2024-03-08T12:01:00+00:00"), whatChanged: "systemd (Ubuntu): status", oldValue: "New",
                    newValue: "Won't Fix"),
            ]
        )
        // Reported a microsecond before the window, commented at its first instant.
        world.bugs[2_055_000] = B(
            id: 2_055_000, title: "Leap day crash", owner: "alice-example", created: t("2024-02-29T23:59:59.999999+00:00"),
            tasks: [.init(target: "netplan", targetName: "netplan", status: "Incomplete", importance: "Low", assignee: nil)],
            messages: [
                M(owner: "alice-example", date: t("2024-02-29T23:59:59.999999+00:00"), content: "crash on Feb 29"),
                M(owner: "alice-example", date: t("2024-03-01T00:00:00+00:00"), content: "log attached"),
            ],
            activity: [
                A(
                    person: "alice-example", date: t("2024-02-29T23:59:59.999999+00:00"), whatChanged: "bug", oldValue: nil, newValue: nil,
                    message: "added bug")
            ]
        )
        // A duplicate (hidden by searchTasks' default omit_duplicates=true).
        world.bugs[2_059_000] = B(
            id: 2_059_000, title: "DHCP renew broken again", owner: "alice-example", created: t("2024-03-20T08:00:00+00:00"),
            tasks: [
                .init(target: "ubuntu/+source/netplan.io", targetName: netplanUbuntu, status: "New", importance: "Undecided", assignee: nil)
            ],
            messages: [M(owner: "alice-example", date: t("2024-03-20T08:00:00+00:00"), content: "same as 2056789?")],
            activity: [
                A(
                    person: "alice-example", date: t("2024-03-20T08:00:00+00:00"), whatChanged: "bug", oldValue: nil, newValue: nil,
                    message: "added bug")
            ],
            duplicateOf: 2_056_789
        )
        // Reported at the window's exclusive end: no events.
        world.bugs[2_060_000] = B(
            id: 2_060_000, title: "April bug", owner: "alice-example", created: t("2024-04-01T00:00:00+00:00"),
            tasks: [.init(target: "netplan", targetName: "netplan", status: "New", importance: "Undecided", assignee: nil)],
            messages: [M(owner: "alice-example", date: t("2024-04-01T00:00:00+00:00"), content: "april")],
            activity: []
        )

        world.mergeProposals[462815] = FixtureWorld.MergeProposal(
            id: 462815, sourceOwner: "alice-example", project: "netplan", branch: "fix-dhcp-renew", registrant: "alice-example",
            status: "Merged", created: t("2024-03-05T07:28:02.331046+00:00"), reviewRequested: t("2024-03-05T07:28:02.331046+00:00"),
            reviewed: t("2024-03-11T09:40:12.776530+00:00"), reviewer: "bob-example", merged: t("2024-03-12T13:18:47.090215+00:00"),
            mergeReporter: nil, requestedReviewers: ["bob-example"],
            comments: [
                .init(
                    id: 1_254_310, author: "bob-example", date: t("2024-03-06T12:14:55.602311+00:00"), vote: "Needs Fixing",
                    content: "Please add a unit test."),
                .init(id: 1_255_001, author: "alice-example", date: t("2024-03-07T08:00:00+00:00"), vote: nil, content: "Added the test."),
                .init(
                    id: 1_256_902, author: "bob-example", date: t("2024-03-11T09:40:12.776530+00:00"), vote: "Approve",
                    content: "LGTM, thanks!"),
            ]
        )
        world.mergeProposals[470001] = FixtureWorld.MergeProposal(
            id: 470001, sourceOwner: "bob-example", project: "netplan", branch: "docs-bonds", registrant: "bob-example",
            status: "Approved", created: t("2024-02-20T10:00:00+00:00"), reviewRequested: t("2024-02-20T10:00:00+00:00"),
            reviewed: t("2024-03-15T10:00:00+00:00"), reviewer: "alice-example", requestedReviewers: ["alice-example"],
            comments: [
                .init(id: 1_260_001, author: "alice-example", date: t("2024-03-15T10:00:00+00:00"), vote: "Approve", content: "Looks good.")
            ]
        )
        // bob's proposal into a project nobody else of the team touches, proposed in February:
        // dave-quiet, a team-mate who was not asked, votes on it in March. Only bob's run reads
        // it; dave's own run never sees it (no bug, proposal or project of his leads there).
        world.mergeProposals[470002] = FixtureWorld.MergeProposal(
            id: 470002, sourceOwner: "bob-example", project: "bob-tool", branch: "faster-start", registrant: "bob-example",
            status: "Needs review", created: t("2024-02-25T10:00:00+00:00"), reviewRequested: t("2024-02-25T10:00:00+00:00"),
            comments: [
                .init(id: 1_260_101, author: "dave-quiet", date: t("2024-03-20T10:00:00+00:00"), vote: "Approve", content: "Nice speed-up.")
            ]
        )
        world.mergeProposals[450000] = FixtureWorld.MergeProposal(
            id: 450000, sourceOwner: "alice-example", project: "netplan", branch: "old-approach", registrant: "alice-example",
            status: "Superseded", created: t("2023-12-01T09:00:00+00:00"), reviewRequested: t("2023-12-01T09:00:00+00:00"),
            comments: [
                .init(
                    id: 1_250_000, author: "alice-example", date: t("2024-03-02T09:00:00+00:00"), vote: nil,
                    content: "Superseded by 462815.")
            ]
        )

        world.questions[800001] = FixtureWorld.Question(
            id: 800001, target: "ubuntu", owner: "alice-example", title: "How do I pin a DHCP client id?", status: "Solved",
            created: t("2024-03-10T11:00:00+00:00"), answerer: "bob-example",
            messages: [
                .init(
                    owner: "bob-example", date: t("2024-03-10T12:00:00+00:00"), action: "Answer", newStatus: "Answered",
                    content: "Use dhcp-identifier: mac"),
                .init(
                    owner: "alice-example", date: t("2024-03-10T13:00:00+00:00"), action: "Confirm", newStatus: "Solved",
                    content: "Thanks, that solved it."),
            ]
        )
        world.questions[800002] = FixtureWorld.Question(
            id: 800002, target: "netplan", owner: "bob-example", title: "Bond modes?", status: "Answered",
            created: t("2024-03-12T09:00:00+00:00"), answerer: "alice-example",
            messages: [
                .init(
                    owner: "alice-example", date: t("2024-03-12T15:00:00+00:00"), action: "Answer", newStatus: "Answered",
                    content: "See the docs on bonds."),
                .init(
                    owner: "alice-example", date: t("2024-03-13T09:30:00+00:00"), action: "Comment", newStatus: "Answered",
                    content: "Also the examples dir."),
            ]
        )
        world.questions[800003] = FixtureWorld.Question(
            id: 800003, target: "ubuntu", owner: "bob-example", title: "Old question", status: "Expired",
            created: t("2023-06-01T09:00:00+00:00"),
            messages: [
                .init(
                    owner: "alice-example", date: t("2024-03-25T18:00:00+00:00"), action: "Comment", newStatus: "Expired",
                    content: "Still relevant?")
            ]
        )
    }

    /// `frank-edge`: what the real service does that a naive extractor gets wrong.
    /// ivan commented on two bugs in March; the second was made private after the listings
    /// were read (it is listed, and its own URLs answer 404). judy's two bugs both were: as
    /// every bug's URLs answer behind a proxy that does not serve them. kim commented on four:
    /// the last two were made private since (a whole chunk of two, after one read well).
    /// olga-maintainer works on olga-tool, a project Launchpad's admins may deactivate
    /// (`FixtureFaults.deactivatedProjects`): in March 2024 she reported bug 4200001 (its one
    /// task on olga-tool), commented on bug 4200002 (also filed against Ubuntu's olga-tool
    /// package), on bug 4200003 (olga-tool only; `FixtureFaults.privateBugs` may make it
    /// private) and answered question 900001 on olga-tool: 5 events.
    static func addOlga(to world: inout FixtureWorld) {
        let olga = "olga-maintainer"
        world.people[olga] = FixtureWorld.Person(name: olga, displayName: "Olga Maintainer", timeZone: "UTC")
        let project = FixtureWorld.Task(target: "olga-tool", targetName: "olga-tool", status: "New", importance: "Undecided", assignee: nil)
        let package = FixtureWorld.Task(
            target: "ubuntu/+source/olga-tool", targetName: "olga-tool (Ubuntu)", status: "New", importance: "Undecided", assignee: nil)
        for (id, owner, tasks) in [
            (4_200_001, olga, [project]), (4_200_002, "grace-owner", [project, package]), (4_200_003, "grace-owner", [project]),
        ] {
            let created = owner == olga ? t("2024-03-05T09:00:00+00:00") : t("2024-02-01T00:00:00+00:00")
            world.bugs[id] = FixtureWorld.Bug(
                id: id, title: "olga-tool bug \(id)", owner: owner, created: created, tasks: tasks,
                messages: [
                    .init(owner: owner, date: created, content: "description"),
                    .init(owner: olga, date: t("2024-03-06T10:00:00+00:00"), content: "looking into it"),
                ],
                activity: [
                    .init(person: owner, date: created, whatChanged: "bug", oldValue: nil, newValue: nil, message: "added bug")
                ])
        }
        world.questions[900_001] = FixtureWorld.Question(
            id: 900_001, target: "olga-tool", owner: "grace-owner", title: "Does olga-tool run on arm64?", status: "Answered",
            created: t("2024-03-07T09:00:00+00:00"), answerer: olga,
            messages: [
                .init(owner: olga, date: t("2024-03-07T11:00:00+00:00"), action: "Answer", newStatus: "Answered", content: "It does.")
            ])
    }

    /// paul-converter reported bug 4300001 on 2024-03-08 and, after commenting, converted it to
    /// question 900101, as Launchpad's `createQuestionFromBug` does: the question takes the bug's
    /// owner, title and creation time, and a copy of its last comment (owner and time), and the
    /// bug's activity records the conversion (its task turns Invalid). Bug 4300002 he reported
    /// in February and converted (question 900102) after a comment in March. Bug 4300003 he
    /// reported in February and commented on in March; rhea-triager converted it (question
    /// 900103) the next day, adding no comment, so the question copies his. His acts in March:
    /// bug 4300001's creation, his comment and the conversion, bug 4300002's comment and
    /// conversion, and bug 4300003's comment, 6 events (the questions' creations and messages
    /// are copies, not acts); rhea's: the conversion of bug 4300003.
    static func addPaul(to world: inout FixtureWorld) {
        let paul = "paul-converter"
        world.people[paul] = FixtureWorld.Person(name: paul, displayName: "Paul Converter", timeZone: "UTC")
        world.people["rhea-triager"] = FixtureWorld.Person(name: "rhea-triager", displayName: "Rhea Triager", timeZone: "UTC")
        /// A bug paul reported at `created` and, after his comment at `commented`, `converter`
        /// converted to question `question` at `converted`.
        func converted(
            bug: Int, question: Int, title: String, created: String, commented: String, converted: String, text: String,
            converter: String = paul
        ) {
            let (created, commented) = (t(created), t(commented))
            world.bugs[bug] = FixtureWorld.Bug(
                id: bug, title: title, owner: paul, created: created,
                tasks: [.init(target: "paul-tool", targetName: "paul-tool", status: "Invalid", importance: "Undecided", assignee: nil)],
                messages: [.init(owner: paul, date: created, content: title), .init(owner: paul, date: commented, content: text)],
                activity: [
                    .init(person: paul, date: created, whatChanged: "bug", oldValue: nil, newValue: nil, message: "added bug"),
                    .init(
                        person: converter, date: t(converted), whatChanged: "converted to question", oldValue: nil,
                        newValue: String(question)),
                ])
            world.questions[question] = FixtureWorld.Question(
                id: question, target: "paul-tool", owner: paul, title: title, status: "Open", created: created,
                messages: [.init(owner: paul, date: commented, action: "Comment", newStatus: "Open", content: text)])
        }
        converted(
            bug: 4_300_001, question: 900_101, title: "How do I configure paul-tool behind a proxy?", created: "2024-03-08T10:00:00+00:00",
            commented: "2024-03-08T12:00:00+00:00", converted: "2024-03-08T12:00:01+00:00", text: "A usage question after all: converting.")
        converted(
            bug: 4_300_002, question: 900_102, title: "Which paul-tool release supports arm64?", created: "2024-02-20T08:30:00+00:00",
            commented: "2024-03-12T09:00:00+00:00", converted: "2024-03-12T09:00:01+00:00", text: "Not a bug: converting.")
        converted(
            bug: 4_300_003, question: 900_103, title: "Can paul-tool read YAML?", created: "2024-02-10T08:00:00+00:00",
            commented: "2024-03-05T15:30:00.250000+00:00", converted: "2024-03-06T09:00:00+00:00", text: "Still wondering.",
            converter: "rhea-triager")
    }

    static func addIvan(to world: inout FixtureWorld) {
        world.people["ivan-vanishing"] = FixtureWorld.Person(name: "ivan-vanishing", displayName: "Ivan Vanishing", timeZone: "UTC")
        world.people["judy-vanishing"] = FixtureWorld.Person(name: "judy-vanishing", displayName: "Judy Vanishing", timeZone: "UTC")
        world.people["kim-vanishing"] = FixtureWorld.Person(name: "kim-vanishing", displayName: "Kim Vanishing", timeZone: "UTC")
        for (id, title, privateSince, commenter) in [
            (4_100_001, "Still public", false, "ivan-vanishing"), (4_100_002, "Private since", true, "ivan-vanishing"),
            (4_100_003, "Private since", true, "judy-vanishing"), (4_100_004, "Private since", true, "judy-vanishing"),
            (4_100_005, "Still public", false, "kim-vanishing"), (4_100_006, "Still public", false, "kim-vanishing"),
            (4_100_007, "Private since", true, "kim-vanishing"), (4_100_008, "Private since", true, "kim-vanishing"),
        ] {
            var bug = FixtureWorld.Bug(
                id: id, title: title, owner: "grace-owner", created: t("2024-02-01T00:00:00+00:00"),
                tasks: [.init(target: "frank-project", targetName: "frank-project", status: "New", importance: "Undecided", assignee: nil)],
                messages: [
                    .init(owner: "grace-owner", date: t("2024-02-01T00:00:00+00:00"), content: "description"),
                    .init(owner: commenter, date: t("2024-03-12T12:00:00+00:00"), content: "me too"),
                ],
                activity: [
                    .init(
                        person: "grace-owner", date: t("2024-02-01T00:00:00+00:00"), whatChanged: "bug", oldValue: nil, newValue: nil,
                        message: "added bug")
                ])
            bug.privateSinceListing = privateSince
            world.bugs[id] = bug
        }
        // A bug and a proposal whose comments a proxy does not serve while they still read.
        world.people["lena-unserved"] = FixtureWorld.Person(name: "lena-unserved", displayName: "Lena Unserved", timeZone: "UTC")
        var bug = FixtureWorld.Bug(
            id: 4_100_009, title: "Messages unserved", owner: "grace-owner", created: t("2024-02-01T00:00:00+00:00"),
            tasks: [.init(target: "frank-project", targetName: "frank-project", status: "New", importance: "Undecided", assignee: nil)],
            messages: [
                .init(owner: "grace-owner", date: t("2024-02-01T00:00:00+00:00"), content: "description"),
                .init(owner: "lena-unserved", date: t("2024-03-12T12:00:00+00:00"), content: "me too"),
            ],
            activity: [])
        bug.messagesUnserved = true
        world.bugs[bug.id] = bug
        world.people["mia-unserved"] = FixtureWorld.Person(name: "mia-unserved", displayName: "Mia Unserved", timeZone: "UTC")
        var proposal = FixtureWorld.MergeProposal(
            id: 630_001, sourceOwner: "mia-unserved", project: "mia-project", branch: "unserved", registrant: "mia-unserved",
            status: "Needs review", created: t("2024-03-04T09:00:00+00:00"), reviewRequested: t("2024-03-04T09:00:00+00:00"),
            comments: [.init(id: 1_430_001, author: "mia-unserved", date: t("2024-03-05T09:00:00+00:00"), vote: nil, content: "Ping.")])
        proposal.commentsUnserved = true
        world.mergeProposals[proposal.id] = proposal
    }

    /// nina-requests: review requests Launchpad keeps only as vote references. Her proposal
    /// 640001, proposed in February with bob asked, went back to Work in progress in March; she
    /// asked alice-example to review on 2024-03-06 and dave-quiet on 2024-03-18, put it up for
    /// review again on 2024-03-08, and once more on 2024-04-02: its `date_review_requested` now
    /// says April, so a March read after that finds her March requests only in `<mp>/votes`; on
    /// 2024-03-25 she asked a team of hers, claimed that review and voted on it two days later.
    /// 640005 was put up for review again on 2024-03-22 with carol-busy named, in one form; bob
    /// did the same for her 640007 on 2024-03-26. She voted twice, unasked, on pia-proposer's 640006.
    /// Her proposal 640002, proposed in March with bob asked (no request of its own beyond the
    /// creation), had a vote from alice-example nobody asked (a reference of alice's own).
    /// 640004, merged in 2023, is not asked for its vote references (they are not served: a
    /// read of them fails the run). oona-unserved's question 800101's messages and nils-unserved's proposal 640003's vote references are not served while it reads (a
    /// proxy before Launchpad).
    static func addNina(to world: inout FixtureWorld) {
        world.people["nina-requests"] = FixtureWorld.Person(name: "nina-requests", displayName: "Nina Requests", timeZone: "UTC")
        var reopened = FixtureWorld.MergeProposal(
            id: 640_001, sourceOwner: "nina-requests", project: "nina-project", branch: "reopened", registrant: "nina-requests",
            status: "Needs review", created: t("2024-02-10T09:00:00+00:00"), reviewRequested: t("2024-04-02T09:00:00+00:00"),
            requestedReviewers: ["bob-example"])
        reopened.laterReviewRequests = [
            .init(reviewer: "alice-example", registrant: "nina-requests", date: t("2024-03-06T10:00:00.125000+00:00"), reviewType: "code"),
            .init(reviewer: "dave-quiet", registrant: "nina-requests", date: t("2024-03-18T11:00:00+00:00")),
            // Asked by bob (not nina's act), and one in April (outside the window).
            .init(reviewer: "carol-busy", registrant: "bob-example", date: t("2024-03-19T11:00:00+00:00")),
            .init(reviewer: "henry-teamwork", registrant: "nina-requests", date: t("2024-04-03T11:00:00+00:00")),
            // A review she asked of a team of hers, then claimed (Launchpad rewrites its
            // reviewer to her), and voted on: not told apart from a vote nobody asked for.
            .init(reviewer: "nina-requests", registrant: "nina-requests", date: t("2024-03-25T11:00:00+00:00")),
        ]
        reopened.comments = [
            .init(id: 1_440_101, author: "nina-requests", date: t("2024-03-27T11:00:00+00:00"), vote: "Approve", content: "Claimed.")
        ]
        world.mergeProposals[reopened.id] = reopened
        // Put up for review again with a reviewer named, in one form: its request date and the
        // reference are of one transaction.
        var again = FixtureWorld.MergeProposal(
            id: 640_005, sourceOwner: "nina-requests", project: "nina-project", branch: "again", registrant: "nina-requests",
            status: "Needs review", created: t("2024-02-01T09:00:00+00:00"), reviewRequested: t("2024-03-22T08:00:00+00:00"))
        again.laterReviewRequests = [.init(reviewer: "carol-busy", registrant: "nina-requests", date: t("2024-03-22T08:00:00+00:00"))]
        world.mergeProposals[again.id] = again
        // pia-proposer's proposal into her project, on which she voted twice, asked by nobody:
        // one reference of her own, dated at her first vote, holding the second.
        world.people["pia-proposer"] = FixtureWorld.Person(name: "pia-proposer", displayName: "Pia Proposer", timeZone: "UTC")
        world.mergeProposals[640_006] = FixtureWorld.MergeProposal(
            id: 640_006, sourceOwner: "pia-proposer", project: "nina-project", branch: "pias", registrant: "pia-proposer",
            status: "Needs review", created: t("2024-03-02T09:00:00+00:00"), reviewRequested: t("2024-03-02T09:00:00+00:00"),
            comments: [
                .init(id: 1_440_201, author: "nina-requests", date: t("2024-03-10T09:00:00+00:00"), vote: "Needs Fixing", content: "No."),
                .init(id: 1_440_202, author: "nina-requests", date: t("2024-03-12T09:00:00+00:00"), vote: "Approve", content: "Now yes."),
            ])
        // Her proposal that bob put up for review, naming carol-busy, in one form: the request
        // is bob's (the request date at that instant is not hers).
        var bobs = FixtureWorld.MergeProposal(
            id: 640_007, sourceOwner: "nina-requests", project: "nina-project", branch: "by-bob", registrant: "nina-requests",
            status: "Needs review", created: t("2024-02-01T09:00:00+00:00"), reviewRequested: t("2024-03-26T08:00:00+00:00"))
        bobs.laterReviewRequests = [.init(reviewer: "carol-busy", registrant: "bob-example", date: t("2024-03-26T08:00:00+00:00"))]
        world.mergeProposals[bobs.id] = bobs
        world.mergeProposals[640_002] = FixtureWorld.MergeProposal(
            id: 640_002, sourceOwner: "nina-requests", project: "nina-project", branch: "fresh", registrant: "nina-requests",
            status: "Needs review", created: t("2024-03-12T09:00:00+00:00"), reviewRequested: t("2024-03-12T09:00:00+00:00"),
            requestedReviewers: ["bob-example"],
            comments: [
                .init(id: 1_440_001, author: "alice-example", date: t("2024-03-13T09:00:00+00:00"), vote: "Approve", content: "Fine.")
            ])
        var merged = FixtureWorld.MergeProposal(
            id: 640_004, sourceOwner: "nina-requests", project: "nina-project", branch: "long-merged", registrant: "nina-requests",
            status: "Merged", created: t("2023-05-01T09:00:00+00:00"), reviewRequested: t("2023-05-01T09:00:00+00:00"),
            merged: t("2023-06-01T09:00:00+00:00"), mergeReporter: "nina-requests")
        merged.votesUnserved = true
        world.mergeProposals[merged.id] = merged
        world.people["oona-unserved"] = FixtureWorld.Person(name: "oona-unserved", displayName: "Oona Unserved", timeZone: "UTC")
        var question = FixtureWorld.Question(
            id: 800_101, target: "nina-project", owner: "oona-unserved", title: "Unserved messages?", status: "Open",
            created: t("2024-03-08T09:00:00+00:00"))
        question.messagesUnserved = true
        world.questions[question.id] = question
        world.people["nils-unserved"] = FixtureWorld.Person(name: "nils-unserved", displayName: "Nils Unserved", timeZone: "UTC")
        var unserved = FixtureWorld.MergeProposal(
            id: 640_003, sourceOwner: "nils-unserved", project: "nils-project", branch: "unserved", registrant: "nils-unserved",
            status: "Work in progress", created: t("2024-03-14T09:00:00+00:00"))
        unserved.votesUnserved = true
        world.mergeProposals[unserved.id] = unserved
    }

    static func addFrank(to world: inout FixtureWorld) {
        for (name, display) in [("frank-edge", "Frank Edge"), ("grace-owner", "Grace Owner")] {
            world.people[name] = FixtureWorld.Person(name: name, displayName: display, timeZone: "UTC")
        }
        // Reported in the window, re-targeted in April: its only task is newer than the window,
        // so a reporter search bounded by created_since/created_before never lists it.
        world.bugs[4_000_001] = FixtureWorld.Bug(
            id: 4_000_001, title: "Re-targeted bug", owner: "frank-edge", created: t("2024-03-05T10:00:00.250000+00:00"),
            tasks: [
                .init(
                    target: "frank-project", targetName: "frank-project", status: "New", importance: "Undecided", assignee: nil,
                    created: t("2024-04-10T08:00:00+00:00"))
            ],
            messages: [
                .init(owner: "frank-edge", date: t("2024-03-05T10:00:00.250000+00:00"), content: "first filed against the wrong project")
            ],
            activity: [
                .init(
                    person: "frank-edge", date: t("2024-03-05T10:00:00.250000+00:00"), whatChanged: "bug", oldValue: nil, newValue: nil,
                    message: "added bug")
            ]
        )
        // Another's bug: frank's hidden comment (spam, hidden by an admin) is not activity; his
        // visible one has a date without fraction and text with escapes (emoji, U+00A0).
        world.bugs[4_000_002] = FixtureWorld.Bug(
            id: 4_000_002, title: "Unicode \u{00A0}title \u{1F600}", owner: "grace-owner", created: t("2024-02-01T00:00:00+00:00"),
            tasks: [
                .init(
                    target: "frank-project", targetName: "frank-project", status: "Confirmed", importance: "Low", assignee: "frank-edge",
                    assigneeRedacted: true)
            ],
            messages: [
                .init(owner: "grace-owner", date: t("2024-02-01T00:00:00+00:00"), content: "description"),
                .init(owner: "frank-edge", date: t("2024-03-06T09:00:00.5+00:00"), content: "buy cheap watches", visible: false),
                .init(owner: "frank-edge", date: t("2024-03-07T09:00:00+00:00"), content: "Works for me \u{1F44D}\u{00A0}now"),
            ],
            activity: [
                .init(
                    person: "grace-owner", date: t("2024-02-01T00:00:00+00:00"), whatChanged: "bug", oldValue: nil, newValue: nil,
                    message: "added bug")
            ]
        )
        // Git proposals into frank-project by someone else: frank comments (no vote, never asked
        // to review) and votes. Launchpad lists them only through the project's getMergeProposals.
        world.mergeProposals[600_001] = FixtureWorld.MergeProposal(
            id: 600_001, sourceOwner: "grace-owner", project: "frank-project", branch: "grace-fix", registrant: "grace-owner",
            status: "Needs review", created: t("2024-03-02T08:00:00+00:00"), reviewRequested: t("2024-03-02T08:00:00+00:00"),
            comments: [
                .init(
                    id: 1_400_001, author: "frank-edge", date: t("2024-03-08T10:00:00+00:00"), vote: nil,
                    content: "Nit: typo in the docstring."),
                .init(id: 1_400_002, author: "frank-edge", date: t("2024-03-09T10:00:00.123+00:00"), vote: "Approve", content: "LGTM"),
            ]
        )
        // Merged long before the window (more than `ReviewTargets.closedLongBefore` days): not
        // read, so frank's late comment on it is not seen (a documented limit).
        world.mergeProposals[600_002] = FixtureWorld.MergeProposal(
            id: 600_002, sourceOwner: "grace-owner", project: "frank-project", branch: "old-work", registrant: "grace-owner",
            status: "Merged", created: t("2023-09-01T08:00:00+00:00"), merged: t("2023-10-01T08:00:00+00:00"),
            comments: [
                .init(id: 1_400_003, author: "frank-edge", date: t("2024-03-10T10:00:00+00:00"), vote: nil, content: "Was this reverted?")
            ]
        )
        // Opened long before the window and superseded after it: Launchpad records no date for
        // superseding (no date_merged, no date_reviewed), so only the successor's creation says
        // when it closed. frank voted on it in the window.
        world.mergeProposals[600_003] = FixtureWorld.MergeProposal(
            id: 600_003, sourceOwner: "grace-owner", project: "frank-project", branch: "slow-work", registrant: "grace-owner",
            status: "Superseded", created: t("2023-09-15T08:00:00+00:00"), reviewRequested: t("2023-09-15T08:00:00+00:00"),
            comments: [
                .init(
                    id: 1_400_004, author: "frank-edge", date: t("2024-03-12T10:00:00+00:00"), vote: "Needs Resubmitting",
                    content: "Please rebase and resubmit.")
            ], supersededBy: 600_004
        )
        world.mergeProposals[600_004] = FixtureWorld.MergeProposal(
            id: 600_004, sourceOwner: "grace-owner", project: "frank-project", branch: "slow-work-2", registrant: "grace-owner",
            status: "Needs review", created: t("2024-04-05T08:00:00+00:00"), reviewRequested: t("2024-04-05T08:00:00+00:00")
        )
        // Private: frank commented, but anonymous listings leave it out (or drop it after the
        // batch is cut: `privacyAfterTheCut`).
        world.bugs[4_000_004] = FixtureWorld.Bug(
            id: 4_000_004, title: "Embargoed security bug", owner: "grace-owner", created: t("2024-03-03T00:00:00+00:00"),
            tasks: [.init(target: "frank-project", targetName: "frank-project", status: "New", importance: "Critical", assignee: nil)],
            messages: [
                .init(owner: "grace-owner", date: t("2024-03-03T00:00:00+00:00"), content: "details under embargo"),
                .init(owner: "frank-edge", date: t("2024-03-04T00:00:00+00:00"), content: "confirmed"),
            ],
            activity: [
                .init(
                    person: "grace-owner", date: t("2024-03-03T00:00:00+00:00"), whatChanged: "bug", oldValue: nil, newValue: nil,
                    message: "added bug")
            ],
            isPrivate: true
        )
        // Reported in the window, affecting two projects: listed once per task.
        world.bugs[4_000_003] = FixtureWorld.Bug(
            id: 4_000_003, title: "Two targets", owner: "frank-edge", created: t("2024-03-20T12:00:00+00:00"),
            tasks: [
                .init(target: "frank-project", targetName: "frank-project", status: "New", importance: "Undecided", assignee: nil),
                .init(target: "ubuntu/+source/frank", targetName: "frank (Ubuntu)", status: "New", importance: "Undecided", assignee: nil),
            ],
            messages: [.init(owner: "frank-edge", date: t("2024-03-20T12:00:00+00:00"), content: "affects both")],
            activity: [
                .init(
                    person: "frank-edge", date: t("2024-03-20T12:00:00+00:00"), whatChanged: "bug", oldValue: nil, newValue: nil,
                    message: "added bug")
            ]
        )
    }

    static func addCarol(to world: inout FixtureWorld) {
        let base = t("2024-03-01T01:00:00+00:00")
        let hour: Int64 = 3_600_000_000
        for index in 0..<310 {
            let id = 3_000_000 + index
            let created = UTCTimestamp(microsecondsSinceEpoch: base.microsecondsSinceEpoch + Int64(index) * 2 * hour + Int64(index) * 1_001)
            let later = UTCTimestamp(microsecondsSinceEpoch: created.microsecondsSinceEpoch + hour)
            world.bugs[id] = FixtureWorld.Bug(
                id: id, title: "Generated bug \(index)", owner: "carol-busy", created: created,
                tasks: [
                    .init(
                        target: "carol-project", targetName: "carol-project", status: index % 3 == 0 ? "Fix Released" : "Confirmed",
                        importance: "Medium", assignee: nil)
                ],
                messages: [
                    .init(owner: "carol-busy", date: created, content: "Generated description \(index)"),
                    .init(owner: "bob-example", date: later, content: "Seen it."),
                ],
                activity: [
                    .init(person: "carol-busy", date: created, whatChanged: "bug", oldValue: nil, newValue: nil, message: "added bug"),
                    .init(person: "carol-busy", date: later, whatChanged: "carol-project: status", oldValue: "New", newValue: "Confirmed"),
                ]
            )
        }
        var messages: [FixtureWorld.Message] = [
            .init(owner: "bob-example", date: t("2023-01-01T00:00:00+00:00"), content: "The long-running bug")
        ]
        for index in 0..<320 {
            messages.append(
                .init(
                    owner: "carol-busy",
                    date: UTCTimestamp(microsecondsSinceEpoch: base.microsecondsSinceEpoch + Int64(index) * 2 * hour + 7),
                    content: "Update \(index)"))
        }
        world.bugs[3_100_000] = FixtureWorld.Bug(
            id: 3_100_000, title: "Tracking bug", owner: "bob-example", created: t("2023-01-01T00:00:00+00:00"),
            tasks: [
                .init(target: "carol-project", targetName: "carol-project", status: "Triaged", importance: "High", assignee: "carol-busy")
            ],
            messages: messages, activity: []
        )
        for index in 0..<12 {
            let created = UTCTimestamp(microsecondsSinceEpoch: base.microsecondsSinceEpoch + Int64(index) * 48 * hour)
            world.mergeProposals[500_000 + index] = FixtureWorld.MergeProposal(
                id: 500_000 + index, sourceOwner: "carol-busy", project: "carol-project", branch: "feature-\(index)",
                registrant: "carol-busy",
                status: "Needs review", created: created, reviewRequested: created, requestedReviewers: ["bob-example"],
                comments: [
                    .init(
                        id: 1_300_000 + index, author: "carol-busy",
                        date: UTCTimestamp(microsecondsSinceEpoch: created.microsecondsSinceEpoch + hour), vote: nil, content: "Ready.")
                ]
            )
        }
        for index in 0..<5 {
            world.questions[810_000 + index] = FixtureWorld.Question(
                id: 810_000 + index, target: "carol-project", owner: "carol-busy", title: "Carol's question \(index)", status: "Open",
                created: UTCTimestamp(microsecondsSinceEpoch: base.microsecondsSinceEpoch + Int64(index) * 24 * hour)
            )
        }
    }
}
