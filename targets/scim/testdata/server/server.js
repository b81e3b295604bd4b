// An in-memory SCIM 2.0 service provider for roster's scim target tests. The protocol work —
// routing, request parsing, filters, PATCH operations, list responses and their paging,
// error messages — is done by the npm packages scimmy and scimmy-routers; this file is only
// the store behind them (scimmy's ingress/egress/degress handlers) and its configuration.
//
// Environment:
//   PORT              port to listen on (127.0.0.1 only)
//   SCIM_TOKEN        the bearer token every request must carry
//   SCIM_MAX_RESULTS  the largest page the server returns (default 100), whatever count asks
//   SCIM_ETAG         "1": resources carry meta.version and an ETag header, and PUT, PATCH
//                     and DELETE with a stale If-Match fail with 412
//   SCIM_NO_PATCH     "1": the server does not implement PATCH (501), like some vendors'
//
// It prints "listening on HOST:PORT" once it accepts connections.

import crypto from "node:crypto";
import express from "express";
import SCIMMY from "scimmy";
import SCIMMYRouters from "scimmy-routers";

const port = Number(process.env.PORT ?? 0);
const token = process.env.SCIM_TOKEN ?? "";
const maxResults = Number(process.env.SCIM_MAX_RESULTS ?? 100);
const etags = process.env.SCIM_ETAG === "1";
const noPatch = process.env.SCIM_NO_PATCH === "1";

if (!token) {
    console.error("SCIM_TOKEN is not set");
    process.exit(2);
}

// The store: resources by id, with an index of userNames (case-insensitive, as RFC 7643
// defines userName) and of each user's groups. A group's members are users or groups
// (RFC 7643 §4.2, members of type "Group"): nested groups, without cycles.
const users = new Map();   // id -> user
const groups = new Map();  // id -> group
const userByName = new Map(); // lower-cased userName -> id
const groupByName = new Map(); // lower-cased displayName -> id
const groupsOf = new Map(); // user id -> Set of group ids

const Err = SCIMMY.Types.Error;

const now = () => new Date().toISOString();
const plain = (v) => JSON.parse(JSON.stringify(v ?? {}));

// checkVersion fails with 412 when the request's If-Match names another version.
function checkVersion(record, ctx) {
    if (!etags || !ctx?.ifMatch || ctx.ifMatch === "*") return;
    const wanted = ctx.ifMatch.split(",").map(s => s.trim());
    if (!wanted.includes(record.meta.version))
        throw new Err(412, null, `Resource ${record.id} has version ${record.meta.version}, not ${ctx.ifMatch}`);
}

function touch(record, created) {
    const t = now();
    record.meta = {
        ...(record.meta ?? {}),
        created: created ? t : record.meta.created,
        lastModified: t,
        ...(etags ? {version: `W/"${crypto.randomBytes(6).toString("hex")}"`} : {}),
    };
}

// limitPage keeps a list request's count within maxResults.
function limitPage(resource) {
    const c = resource.constraints ?? {};
    resource.constraints = {...c, count: Math.min(c.count ?? maxResults, maxResults)};
}

// page returns what a list egress hands to scimmy. scimmy builds a schema instance of every
// resource it is given before it cuts out the requested page, which costs seconds per page
// with thousands of users; so, like a database-backed store, the handler passes only the
// page and tells scimmy the total (the totalResults constraint scimmy's ListResponse reads).
// scimmy then re-slices a page whose startIndex lies within its own length, so that is
// done only when it cannot happen (startIndex 1, or beyond count); otherwise, and when
// sorting, scimmy gets the whole list and pages it itself.
function page(resource, matched) {
    const {startIndex = 1, count, sortBy} = resource.constraints;
    if (sortBy !== undefined || (startIndex > 1 && startIndex <= count)) return matched;
    resource.constraints.totalResults = matched.length;
    return matched.slice(startIndex - 1, startIndex - 1 + count);
}

// candidates narrows a filter on a unique name to the one record with it, so lookups stay
// cheap with many resources; scimmy's filter still decides what matches.
function candidates(resource, all, byName, attr) {
    const f = resource.filter;
    if (Array.isArray(f) && f.length === 1) {
        const keys = Object.keys(f[0]);
        const expr = f[0][attr];
        if (keys.length === 1 && Array.isArray(expr) && expr[0] === "eq" && typeof expr[1] === "string") {
            const id = byName.get(expr[1].toLowerCase());
            return id ? [all.get(id)] : [];
        }
    }
    return [...all.values()];
}

function userOut(u) {
    const gs = [...(groupsOf.get(u.id) ?? [])].map(gid => ({value: gid, display: groups.get(gid).displayName, type: "direct"}));
    return {...u, ...(gs.length ? {groups: gs} : {})};
}

function groupOut(g) {
    return {...g, members: g.members.map(m => groups.has(m.value)
        ? {value: m.value, display: groups.get(m.value).displayName, type: "Group"}
        : {value: m.value, display: users.get(m.value)?.userName, type: "User"})};
}

// matching returns the records of all a filter matches. scimmy's Filter.match throws on a
// record lacking a complex attribute the filter names (a user without emails or groups, for
// emails.value or groups.value): it is given copies with those attributes empty.
function matching(resource, all) {
    if (!resource.filter) return all;
    const padded = all.map(r => ({emails: [], groups: [], members: [], ...r}));
    const ids = new Set(resource.filter.match(padded).map(r => r.id));
    return all.filter(r => ids.has(r.id));
}

SCIMMY.Resources.declare(SCIMMY.Resources.User)
    .egress((resource) => {
        if (resource.id) {
            const u = users.get(resource.id);
            if (!u) throw new Err(404, null, `Resource ${resource.id} not found`);
            return userOut(u);
        }
        limitPage(resource);
        const all = candidates(resource, users, userByName, "userName").map(userOut);
        return page(resource, matching(resource, all));
    })
    .ingress((resource, instance, ctx) => {
        const data = plain(instance);
        delete data.groups; // read-only: membership is changed on groups
        const key = String(data.userName ?? "").toLowerCase();
        if (!key) throw new Err(400, "invalidValue", "userName is required");
        const taken = userByName.get(key);
        if (resource.id) {
            const old = users.get(resource.id);
            if (!old) throw new Err(404, null, `Resource ${resource.id} not found`);
            checkVersion(old, ctx);
            if (taken && taken !== resource.id) throw new Err(409, "uniqueness", `userName ${data.userName} is taken`);
            const u = {...data, id: old.id, meta: old.meta};
            if (u.active === undefined) u.active = true;
            touch(u, false);
            userByName.delete(String(old.userName).toLowerCase());
            userByName.set(key, u.id);
            users.set(u.id, u);
            return userOut(u);
        }
        if (taken) throw new Err(409, "uniqueness", `userName ${data.userName} is taken`);
        const u = {...data, id: crypto.randomUUID()};
        if (u.active === undefined) u.active = true;
        touch(u, true);
        users.set(u.id, u);
        userByName.set(key, u.id);
        return userOut(u);
    })
    .degress((resource, ctx) => {
        const u = users.get(resource.id);
        if (!u) throw new Err(404, null, `Resource ${resource.id} not found`);
        checkVersion(u, ctx);
        for (const gid of groupsOf.get(u.id) ?? []) {
            const g = groups.get(gid);
            g.members = g.members.filter(m => m.value !== u.id);
            touch(g, false);
        }
        groupsOf.delete(u.id);
        userByName.delete(String(u.userName).toLowerCase());
        users.delete(u.id);
    });

// within reports whether the group with id is g or nested in g, however deep.
function within(id, g) {
    if (id === g.id) return true;
    return (g.members ?? []).some(m => groups.has(m.value) && within(id, groups.get(m.value)));
}

// setMembers stores a group's members: existing users and groups, each once. A group that
// would end up inside itself is refused.
function setMembers(g, members) {
    const seen = new Set();
    const out = [];
    for (const m of members ?? []) {
        if (groups.has(m.value)) {
            if (g.id && within(g.id, groups.get(m.value)))
                throw new Err(400, "invalidValue", `group ${m.value} holds group ${g.id}: groups cannot hold themselves`);
        } else if (!users.has(m.value)) {
            throw new Err(400, "invalidValue", `member ${m.value} is neither a user nor a group`);
        }
        if (seen.has(m.value)) continue;
        seen.add(m.value);
        out.push({value: m.value});
    }
    for (const old of g.members ?? []) {
        if (!seen.has(old.value)) groupsOf.get(old.value)?.delete(g.id);
    }
    for (const id of seen) {
        if (!users.has(id)) continue;
        if (!groupsOf.has(id)) groupsOf.set(id, new Set());
        groupsOf.get(id).add(g.id);
    }
    g.members = out;
}

SCIMMY.Resources.declare(SCIMMY.Resources.Group)
    .egress((resource) => {
        if (resource.id) {
            const g = groups.get(resource.id);
            if (!g) throw new Err(404, null, `Resource ${resource.id} not found`);
            return groupOut(g);
        }
        limitPage(resource);
        const all = candidates(resource, groups, groupByName, "displayName").map(groupOut);
        return page(resource, matching(resource, all));
    })
    .ingress((resource, instance, ctx) => {
        const data = plain(instance);
        const key = String(data.displayName ?? "").toLowerCase();
        if (!key) throw new Err(400, "invalidValue", "displayName is required");
        const taken = groupByName.get(key);
        if (resource.id) {
            const old = groups.get(resource.id);
            if (!old) throw new Err(404, null, `Resource ${resource.id} not found`);
            checkVersion(old, ctx);
            if (taken && taken !== resource.id) throw new Err(409, "uniqueness", `displayName ${data.displayName} is taken`);
            const g = {...data, id: old.id, meta: old.meta, members: old.members};
            setMembers(g, data.members);
            touch(g, false);
            groupByName.delete(String(old.displayName).toLowerCase());
            groupByName.set(key, g.id);
            groups.set(g.id, g);
            return groupOut(g);
        }
        if (taken) throw new Err(409, "uniqueness", `displayName ${data.displayName} is taken`);
        const g = {...data, id: crypto.randomUUID(), members: []};
        setMembers(g, data.members); // a new group holds no group yet: no cycle possible
        touch(g, true);
        groups.set(g.id, g);
        groupByName.set(key, g.id);
        return groupOut(g);
    })
    .degress((resource, ctx) => {
        const g = groups.get(resource.id);
        if (!g) throw new Err(404, null, `Resource ${resource.id} not found`);
        checkVersion(g, ctx);
        setMembers(g, []);
        groupByName.delete(String(g.displayName).toLowerCase());
        groups.delete(g.id);
        for (const other of groups.values()) {
            if (other.members.some(m => m.value === g.id)) {
                other.members = other.members.filter(m => m.value !== g.id);
                touch(other, false);
            }
        }
    });

const app = express();
app.set("etag", false); // ETags are resource versions, not hashes of a response
app.set("query parser", "simple");

if (noPatch) {
    app.patch(/.*/, (req, res) => {
        res.status(501).type("application/scim+json").send(JSON.stringify({
            schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: "501", detail: "PATCH is not implemented",
        }));
    });
}

// Send each single resource's version as its ETag header too (RFC 7644 §3.14).
app.use((req, res, next) => {
    const send = res.send.bind(res);
    res.send = (body) => {
        const version = body !== null && typeof body === "object" && !Buffer.isBuffer(body) ? body.meta?.version : undefined;
        if (etags && typeof version === "string" && !res.headersSent) res.set("ETag", version);
        return send(body);
    };
    next();
});

const expected = Buffer.from(`Bearer ${token}`);
app.use("/scim/v2", new SCIMMYRouters({
    type: "bearer",
    handler: (req) => {
        const got = Buffer.from(req.header("Authorization") ?? "");
        if (got.length !== expected.length || !crypto.timingSafeEqual(got, expected))
            throw new Error("Invalid or missing bearer token");
        return "roster";
    },
    context: (req) => ({ifMatch: req.header("If-Match")}),
}));

SCIMMY.Config.set({
    patch: !noPatch,
    etag: etags,
    filter: {supported: true, maxResults},
});

const server = app.listen(port, "127.0.0.1", () => {
    const a = server.address();
    console.log(`listening on ${a.address}:${a.port}`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
