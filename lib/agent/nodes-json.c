/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The node list as Kubernetes JSON: reading a NodeList (or one Node) as `kubectl get nodes
 * -o json` prints it, through the pull reader (json/reader.h) and a declarative table of the
 * fields podnet needs, and writing a node list back as a NodeList.
 *
 * kubectl's NodeList carries about 10 KB per node (managedFields, images, conditions) of
 * which podnet needs four fields: the reader checks the whole document as strictly as
 * json_loadb(..., JSON_REJECT_DUPLICATES) did, the table below copies out only the fields
 * it names, and everything else is passed over without building anything. Node semantics
 * are decided after each item, in the order the tree-based parser used, so results and
 * messages are the same (tests/unit/test-nodes-fuzz.c).
 */
#include <jansson.h>
#include <sys/socket.h>

#include "json/reader.h"
#include "agent/nodes.h"

enum jtype { JT_ABSENT, JT_OBJECT, JT_ARRAY, JT_STRING, JT_NUMBER, JT_BOOL, JT_NULL };

/* A field as found: its type (JT_ABSENT if missing) and, for a string, its decoded text,
 * NUL-terminated, at off in jcap.buf. */
struct jstr {
        enum jtype t;
        size_t off;
};

struct jaddr {
        struct jstr self, type, address;
};

/* What a Node object holds that podnet reads. */
struct jcap {
        struct jstr item, meta, spec, status, cidrs, addrs, name, cidr, rv, cont, message;
        struct jstr *cidr_v;
        size_t n_cidr, cap_cidr;
        struct jaddr *addr_v;
        size_t n_addr, cap_addr;
        char *buf;
        size_t len, cap;
};

static void jcap_reset(struct jcap *c)
{
        c->item = c->meta = c->spec = c->status = c->cidrs = c->addrs = (struct jstr){0};
        c->name = c->cidr = c->rv = c->cont = c->message = (struct jstr){0};
        c->n_cidr = c->n_addr = c->len = 0;
}

static void jcap_done(struct jcap *c)
{
        free(c->cidr_v);
        free(c->addr_v);
        free(c->buf);
}

static const char *jcap_str(const struct jcap *c, const struct jstr *s)
{
        return c->buf + s->off;
}

static const char *jtype_name(enum jtype t)
{
        switch (t) {
        case JT_OBJECT:
                return "an object";
        case JT_ARRAY:
                return "an array";
        case JT_STRING:
                return "a string";
        case JT_NUMBER:
                return "a number";
        case JT_BOOL:
                return "a boolean";
        default:
                return "null";
        }
}
static int type_error(podnet_error **err, const char *where, const char *key, const char *want,
                      enum jtype got)
{
        return pn_error_plain(err, EINVAL, 0, "%s%s: expected %s, got %s",
                              where, key, want, jtype_name(got));
}
static const char *index_name(char *buf, const char *prefix, size_t k)
{
        char digits[24];
        size_t n = 0, len = strlen(prefix);

        do {
                digits[n++] = (char)('0' + k % 10);
                k /= 10;
        } while (k);
        memcpy(buf, prefix, len);
        buf[len++] = '[';
        while (n)
                buf[len++] = digits[--n];
        buf[len++] = ']';
        buf[len] = 0;
        return buf;
}
static int node_from_capture(podnet_nodes *nodes, const struct jcap *c, const char *where,
                             podnet_error **err)
{
        struct pn_node *node;
        const char *name;
        int r;

        if (c->item.t != JT_OBJECT)
                return type_error(err, where, "", "an object", c->item.t);
        if (c->meta.t != JT_OBJECT)
                return c->meta.t ? type_error(err, where, ".metadata", "an object", c->meta.t)
                                 : pn_error_plain(err, EINVAL, 0,
                                                  "%s.metadata: missing", where);
        if (!c->name.t)
                return pn_error_plain(err, EINVAL, 0,
                                      "%s.metadata.name: missing", where);
        if (c->name.t != JT_STRING)
                return type_error(err, where, ".metadata.name", "a string", c->name.t);
        name = jcap_str(c, &c->name);
        if (!pn_node_name_valid(name))
                return pn_error_plain(err, EINVAL, 0,
                                      "%s.metadata.name: \"%s\" is not a valid node name", where,
                                      name);

        r = pn_nodes_append(nodes, &node);
        if (r < 0)
                return r;
        node->name = strdup(name);
        if (!node->name)
                return -ENOMEM;
        node->origin = nodes->n - 1;

        if (c->spec.t && c->spec.t != JT_OBJECT)
                return type_error(err, where, ".spec", "an object", c->spec.t);
        if (c->cidr.t && c->cidr.t != JT_STRING && c->cidr.t != JT_NULL)
                return type_error(err, where, ".spec.podCIDR", "a string", c->cidr.t);
        if (c->cidrs.t && c->cidrs.t != JT_ARRAY && c->cidrs.t != JT_NULL)
                return type_error(err, where, ".spec.podCIDRs", "an array", c->cidrs.t);
        if (c->cidrs.t == JT_ARRAY && c->n_cidr > 0) {
                for (size_t k = 0; k < c->n_cidr; k++) {
                        char key[64];
                        if (c->cidr_v[k].t != JT_STRING)
                                return type_error(err, where, index_name(key, ".spec.podCIDRs", k),
                                                  "a string", c->cidr_v[k].t);
                        r = pn_node_add_pod_cidr(node, jcap_str(c, &c->cidr_v[k]), err, where);
                        if (r < 0)
                                return r;
                }
        } else if (c->cidr.t == JT_STRING && *jcap_str(c, &c->cidr)) {
                r = pn_node_add_pod_cidr(node, jcap_str(c, &c->cidr), err, where);
                if (r < 0)
                        return r;
        }

        if (c->status.t && c->status.t != JT_OBJECT)
                return type_error(err, where, ".status", "an object", c->status.t);
        if (c->addrs.t && c->addrs.t != JT_ARRAY && c->addrs.t != JT_NULL)
                return type_error(err, where, ".status.addresses", "an array", c->addrs.t);
        for (size_t k = 0; c->addrs.t == JT_ARRAY && k < c->n_addr; k++) {
                const struct jaddr *a = &c->addr_v[k];
                const char *type;
                enum pn_addr_type t;
                char key[64];

                index_name(key, ".status.addresses", k); /* for messages */
                if (a->self.t != JT_OBJECT)
                        return type_error(err, where, key, "an object", a->self.t);
                if (a->type.t != JT_STRING)
                        return a->type.t ? type_error(err, where, ".type", "a string", a->type.t)
                                         : pn_error_plain(err, EINVAL, 0,
                                                          "%s%s.type: missing", where, key);
                type = jcap_str(c, &a->type);
                if (streq(type, "InternalIP"))
                        t = PN_ADDR_INTERNAL;
                else if (streq(type, "ExternalIP"))
                        t = PN_ADDR_EXTERNAL;
                else
                        continue; /* Hostname, InternalDNS, ExternalDNS */
                if (a->address.t != JT_STRING)
                        return a->address.t
                                   ? type_error(err, where, ".address", "a string", a->address.t)
                                   : pn_error_plain(err, EINVAL, 0,
                                                    "%s%s.address: missing", where, key);
                r = pn_node_add_address(node, jcap_str(c, &a->address), t, false, err, where);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The state of a NodeList read: its items become nodes as they end (the first problem is
 * kept for later: kind, which kubectl prints after items, decides whether it counts). */
struct jlist {
        podnet_nodes *nodes;
        struct jcap root, item;
        struct jstr kind, items, type, object;
        size_t n_items;
        podnet_error *item_err;
        int item_r;
        bool event; /* a watch event: {"type": ..., "object": {a Node}} */
};

struct walk {
        pn_jreader *jr;
        struct jlist *l;
        struct jcap *cur; /* the root's capture, or the item's inside items[] */
};

/* --- the fields podnet reads ------------------------------------------------------------ */

enum field_id {
        F_LIST, /* the root: a NodeList, or a Node (then F_NODE's fields apply to it too) */
        F_KIND,
        F_ITEMS,
        F_ITEM,
        F_NODE,
        F_META,
        F_NAME,
        F_RV,
        F_CONTINUE,
        F_SPEC,
        F_CIDR,
        F_CIDRS,
        F_CIDR_ELEM,
        F_STATUS,
        F_ADDRS,
        F_ADDR,
        F_ADDR_TYPE,
        F_ADDR_ADDRESS,
        F_MESSAGE,
        F_EV_TYPE, /* the fields of a watch event (only there) */
        F_EV_OBJECT,
        F_COUNT,
};

/* One field: where it is (parent and key; no key: each element of the parent array),
 * the type podnet reads (an object or array is read member by member, a string is
 * copied; a value of another type is passed over, its type kept for the messages), and
 * where its type and text go. begin/end, where set, run around the value: begin returning
 * 1 passes over it unread. */
struct field {
        enum field_id parent;
        const char *key;
        size_t key_len;
        enum jtype want;
        struct jstr *(*slot)(struct walk *w);
        int (*begin)(struct walk *w);
        int (*end)(struct walk *w);
};

#define SLOT(name, expr)                                                                           \
        static struct jstr *slot_##name(struct walk *w)                                            \
        {                                                                                          \
                return expr;                                                                       \
        }
SLOT(list, &w->l->root.item)
SLOT(kind, &w->l->kind)
SLOT(items, &w->l->items)
SLOT(item, &w->cur->item)
SLOT(meta, &w->cur->meta)
SLOT(name, &w->cur->name)
SLOT(rv, &w->cur->rv)
SLOT(cont, &w->cur->cont)
SLOT(message, &w->cur->message)
SLOT(spec, &w->cur->spec)
SLOT(cidr, &w->cur->cidr)
SLOT(cidrs, &w->cur->cidrs)
SLOT(status, &w->cur->status)
SLOT(addrs, &w->cur->addrs)
SLOT(addr_type, &w->cur->addr_v[w->cur->n_addr - 1].type)
SLOT(addr_address, &w->cur->addr_v[w->cur->n_addr - 1].address)
SLOT(ev_type, &w->l->type)
SLOT(ev_object, &w->l->item.item)
#undef SLOT

static struct jstr *slot_cidr_elem(struct walk *w)
{
        struct jcap *c = w->cur;

        if (pn_grow((void **)&c->cidr_v, &c->cap_cidr, c->n_cidr + 1, sizeof(*c->cidr_v)) < 0)
                return NULL;
        c->cidr_v[c->n_cidr] = (struct jstr){0};
        return &c->cidr_v[c->n_cidr++];
}

static struct jstr *slot_addr(struct walk *w)
{
        struct jcap *c = w->cur;

        if (pn_grow((void **)&c->addr_v, &c->cap_addr, c->n_addr + 1, sizeof(*c->addr_v)) < 0)
                return NULL;
        c->addr_v[c->n_addr] = (struct jaddr){{0}};
        return &c->addr_v[c->n_addr++].self;
}

static int item_begin(struct walk *w);
static int item_end(struct walk *w);
static int object_begin(struct walk *w);
static int object_end(struct walk *w);

#define KEY(k) k, sizeof(k) - 1
#define NO_KEY NULL, 0
static const struct field fields[F_COUNT] = {
    [F_LIST] = {F_LIST, NO_KEY, JT_OBJECT, slot_list, NULL, NULL},
    [F_KIND] = {F_LIST, KEY("kind"), JT_STRING, slot_kind, NULL, NULL},
    [F_ITEMS] = {F_LIST, KEY("items"), JT_ARRAY, slot_items, NULL, NULL},
    [F_ITEM] = {F_ITEMS, NO_KEY, JT_OBJECT, slot_item, item_begin, item_end},
    [F_NODE] = {F_NODE, NO_KEY, JT_OBJECT, NULL, NULL, NULL}, /* stands for F_ITEM and F_LIST */
    [F_META] = {F_NODE, KEY("metadata"), JT_OBJECT, slot_meta, NULL, NULL},
    [F_NAME] = {F_META, KEY("name"), JT_STRING, slot_name, NULL, NULL},
    [F_RV] = {F_META, KEY("resourceVersion"), JT_STRING, slot_rv, NULL, NULL},
    [F_CONTINUE] = {F_META, KEY("continue"), JT_STRING, slot_cont, NULL, NULL},
    [F_SPEC] = {F_NODE, KEY("spec"), JT_OBJECT, slot_spec, NULL, NULL},
    [F_CIDR] = {F_SPEC, KEY("podCIDR"), JT_STRING, slot_cidr, NULL, NULL},
    [F_CIDRS] = {F_SPEC, KEY("podCIDRs"), JT_ARRAY, slot_cidrs, NULL, NULL},
    [F_CIDR_ELEM] = {F_CIDRS, NO_KEY, JT_STRING, slot_cidr_elem, NULL, NULL},
    [F_STATUS] = {F_NODE, KEY("status"), JT_OBJECT, slot_status, NULL, NULL},
    [F_ADDRS] = {F_STATUS, KEY("addresses"), JT_ARRAY, slot_addrs, NULL, NULL},
    [F_ADDR] = {F_ADDRS, NO_KEY, JT_OBJECT, slot_addr, NULL, NULL},
    [F_ADDR_TYPE] = {F_ADDR, KEY("type"), JT_STRING, slot_addr_type, NULL, NULL},
    [F_ADDR_ADDRESS] = {F_ADDR, KEY("address"), JT_STRING, slot_addr_address, NULL, NULL},
    [F_MESSAGE] = {F_NODE, KEY("message"), JT_STRING, slot_message, NULL, NULL},
    [F_EV_TYPE] = {F_LIST, KEY("type"), JT_STRING, slot_ev_type, NULL, NULL},
    [F_EV_OBJECT] = {F_LIST, KEY("object"), JT_OBJECT, slot_ev_object, object_begin, object_end},
};
#undef KEY
#undef NO_KEY

/* The field under `parent` with this key (NULL: its elements), or F_COUNT. The fields of
 * F_NODE are those of every object that holds a Node: an item, the root, an event's
 * object. An event's root has only its own two fields. */
static enum field_id field_find(const struct jlist *l, enum field_id parent, const char *key,
                                size_t len)
{
        enum field_id alias = parent == F_ITEM || parent == F_EV_OBJECT ||
                                      (parent == F_LIST && !l->event)
                                  ? F_NODE
                                  : parent;

        for (enum field_id f = F_KIND; f < F_COUNT; f++) {
                if (fields[f].key_len != len ||
                    (fields[f].parent != parent && fields[f].parent != alias))
                        continue;
                if ((f == F_EV_TYPE || f == F_EV_OBJECT || f == F_KIND || f == F_ITEMS) &&
                    parent == F_LIST && (f == F_EV_TYPE || f == F_EV_OBJECT) != l->event)
                        continue;
                if (key ? fields[f].key && memcmp(fields[f].key, key, len) == 0 : !fields[f].key)
                        return f;
        }
        return F_COUNT;
}

static enum jtype tok_type(int tok)
{
        switch (tok) {
        case PN_JTOK_BEGIN_OBJECT:
                return JT_OBJECT;
        case PN_JTOK_BEGIN_ARRAY:
                return JT_ARRAY;
        case PN_JTOK_STRING:
                return JT_STRING;
        case PN_JTOK_NUMBER:
                return JT_NUMBER;
        case PN_JTOK_TRUE:
        case PN_JTOK_FALSE:
                return JT_BOOL;
        default:
                return JT_NULL;
        }
}

static int capture_string(struct walk *w, struct jstr *s)
{
        struct jcap *c = w->cur;
        size_t len;
        const char *text = pn_jreader_text(w->jr, &len);
        int r;

        if (!text)
                return -ENOMEM;
        r = pn_grow((void **)&c->buf, &c->cap, c->len + len + 1, 1);
        if (r < 0)
                return r;
        memcpy(c->buf + c->len, text, len);
        c->buf[c->len + len] = 0;
        s->off = c->len;
        c->len += len + 1;
        return 0;
}

static int item_begin(struct walk *w)
{
        if (w->l->item_r < 0) /* an earlier item is wrong already: only check the syntax */
                return 1;
        w->cur = &w->l->item;
        jcap_reset(w->cur);
        return 0;
}

static int item_end(struct walk *w)
{
        struct jlist *l = w->l;
        char where[32];

        w->cur = &l->root;
        index_name(where, "items", l->n_items++);
        l->item_r = node_from_capture(l->nodes, &l->item, where, &l->item_err);
        if (l->item_r == 0 || l->item_r == -ENOMEM)
                return l->item_r;
        return 0;
}

static int object_begin(struct walk *w)
{
        w->cur = &w->l->item;
        jcap_reset(w->cur);
        return 0;
}

static int object_end(struct walk *w)
{
        w->cur = &w->l->root;
        return 0;
}

/* --- the resumable walk: one token at a time, stopping where the input ends ------------- */

#define WALK_MAX_DEPTH 16

struct pn_nodes_reader {
        struct jlist l;
        struct walk w;
        struct {
                enum field_id f;
                bool array;
        } stack[WALK_MAX_DEPTH];
        size_t depth;
        enum field_id pending; /* the field whose value the next token begins */
        bool skipping;         /* a skip stopped at the end of the input */
        enum field_id end_after; /* the field whose end runs after that skip */
        bool root_done, finished;
        int r;
        /* for messages in stream mode: where the current chunk starts, its line and column */
        const char *chunk;
        size_t chunk_len, chunk_off;
        int chunk_line, chunk_col;
        bool nul;
};

/* The value of field f begins with token tok. */
static int walk_value(struct pn_nodes_reader *nr, enum field_id f, int tok)
{
        struct walk *w = &nr->w;
        const struct field *fd;
        struct jstr *s;
        int r = 1;

        if (f != F_COUNT && fields[f].begin)
                r = fields[f].begin(w);
        else if (f != F_COUNT)
                r = 0;
        if (r != 0) { /* not read: passed over */
                nr->skipping = true;
                nr->end_after = F_COUNT;
                return r < 0 ? r : 0;
        }
        fd = &fields[f];
        s = fd->slot(w);
        if (!s)
                return -ENOMEM;
        s->t = tok_type(tok);
        if (s->t != fd->want) {
                nr->skipping = true;
                nr->end_after = f;
                return 0;
        }
        if (s->t == JT_STRING) {
                r = capture_string(w, s);
                return r < 0 ? r : fd->end ? fd->end(w) : 0;
        }
        if (nr->depth == WALK_MAX_DEPTH)
                return -EINVAL; /* (the table is shallower than this) */
        nr->stack[nr->depth].f = f;
        nr->stack[nr->depth++].array = s->t == JT_ARRAY;
        return 0;
}

/* Reads as far as the input fed goes: 1 when the document is complete, -EAGAIN when more
 * input is needed, another -errno on failure. */
static int walk(struct pn_nodes_reader *nr)
{
        struct walk *w = &nr->w;
        int r, tok;

        for (;;) {
                if (nr->skipping) {
                        enum field_id f = nr->end_after;
                        r = pn_jreader_skip(w->jr);
                        if (r < 0)
                                return r;
                        nr->skipping = false;
                        nr->end_after = F_COUNT;
                        if (f != F_COUNT && fields[f].end && (r = fields[f].end(w)) < 0)
                                return r;
                        if (nr->depth == 0)
                                nr->root_done = true;
                        continue;
                }
                tok = pn_jreader_next(w->jr);
                if (tok < 0)
                        return tok;
                if (nr->root_done)
                        return 1; /* PN_JTOK_END: what follows the root is checked */
                if (nr->depth == 0) {
                        r = walk_value(nr, F_LIST, tok);
                } else {
                        enum field_id top = nr->stack[nr->depth - 1].f;
                        bool array = nr->stack[nr->depth - 1].array;

                        if (tok == PN_JTOK_END_OBJECT || tok == PN_JTOK_END_ARRAY) {
                                nr->depth--;
                                r = fields[top].end ? fields[top].end(w) : 0;
                                if (nr->depth == 0)
                                        nr->root_done = true;
                        } else if (!array && tok == PN_JTOK_KEY) {
                                size_t len;
                                const char *key = pn_jreader_text(w->jr, &len);
                                nr->pending = field_find(&nr->l, top, key, len);
                                if (nr->pending == F_COUNT) {
                                        nr->skipping = true; /* (a skip after a key: its value) */
                                        nr->end_after = F_COUNT;
                                }
                                r = 0;
                        } else {
                                r = walk_value(nr, array ? field_find(&nr->l, top, NULL, 0)
                                                         : nr->pending,
                                               tok);
                        }
                }
                if (r < 0)
                        return r;
        }
}

int pn_nodes_reader_new(podnet_nodes *nodes, bool event, struct pn_nodes_reader **ret)
{
        struct pn_nodes_reader *nr = calloc(1, sizeof(*nr));
        int r;

        if (!nr)
                return -ENOMEM;
        r = pn_jreader_new(&nr->w.jr);
        if (r < 0) {
                free(nr);
                return r;
        }
        nr->l.nodes = nodes;
        nr->l.event = event;
        nr->w.l = &nr->l;
        nr->w.cur = &nr->l.root;
        nr->end_after = F_COUNT;
        nr->chunk_line = nr->chunk_col = 1;
        *ret = nr;
        return 0;
}

struct pn_nodes_reader *pn_nodes_reader_free(struct pn_nodes_reader *nr)
{
        if (!nr)
                return NULL;
        pn_jreader_free(nr->w.jr);
        podnet_error_free(nr->l.item_err);
        jcap_done(&nr->l.root);
        jcap_done(&nr->l.item);
        free(nr);
        return NULL;
}

/* Moves the line and column of the chunk's start past `len` bytes of text. */
static void count_lines(const char *text, size_t len, int *line, int *column)
{
        for (const char *p = text; p < text + len; p++) {
                if (*p == '\n') {
                        (*line)++;
                        *column = 1;
                } else if (((unsigned char)*p & 0xc0) != 0x80) {
                        (*column)++;
                }
        }
}

int pn_nodes_reader_feed(struct pn_nodes_reader *nr, const char *chunk, size_t len, bool last)
{
        int r;

        if (nr->finished)
                return nr->r;
        if (nr->chunk)
                count_lines(nr->chunk, nr->chunk_len, &nr->chunk_line, &nr->chunk_col);
        nr->chunk_off += nr->chunk_len;
        nr->chunk = chunk;
        nr->chunk_len = len;
        if (!nr->nul && len && memchr(chunk, 0, len))
                nr->nul = true;
        r = pn_jreader_feed(nr->w.jr, chunk, len, last);
        if (r == 0)
                r = walk(nr);
        if (r == -EAGAIN)
                return 0;
        nr->finished = true;
        nr->r = r < 0 ? r : 1;
        return nr->r;
}

static int json_syntax_error(const struct pn_nodes_reader *nr, const char *msg, size_t off,
                             podnet_error **err)
{
        int line = nr->chunk_line, column = nr->chunk_col;

        if (off < nr->chunk_off)
                return pn_error_plain(err, EINVAL, 0,
                                      "Node list is not valid JSON: %s at byte %zu", msg, off);
        off -= nr->chunk_off;
        count_lines(nr->chunk, off < nr->chunk_len ? off : nr->chunk_len, &line, &column);
        return pn_error_plain(err, EINVAL, 0,
                              "Node list is not valid JSON: %s at line %d column %d", msg, line,
                              column);
}

/* After the last feed: the document's verdict (a NodeList's kind and items, the first bad
 * item; in event mode the event's type and object). 0 or -errno with *err set. */
int pn_nodes_reader_end(struct pn_nodes_reader *nr, podnet_error **err)
{
        struct jlist *l = &nr->l;
        podnet_nodes *nodes = l->nodes;
        const char *kind = NULL, *msg;
        size_t off;
        int r = nr->finished ? nr->r : -EINVAL;

        if (r > 0)
                r = 0;
        msg = pn_jreader_error(nr->w.jr, &off);
        if (r < 0 && msg && nr->nul)
                return pn_error_plain(err, EINVAL, 0, "Node list contains a NUL byte");
        if (r < 0 && msg)
                return json_syntax_error(nr, msg, off, err);
        if (r < 0)
                return r == -ENOMEM ? r : pn_error_plain(err, -r, 0, "Node list: incomplete");
        if (l->event) {
                if (l->type.t != JT_STRING)
                        return pn_error_plain(err, EINVAL, 0, "Watch event: no type");
                return 0; /* (the object is read by pn_nodes_reader_event()) */
        }
        if (l->kind.t && l->kind.t != JT_STRING)
                return type_error(err, "Node list", ": kind", "a string", l->kind.t);
        if (l->kind.t && streq((kind = jcap_str(&l->root, &l->kind)), "Node")) {
                for (size_t i = 0; i < nodes->n; i++)
                        pn_node_done(&nodes->nodes[i]);
                nodes->n = 0;
                return node_from_capture(nodes, &l->root, "Node", err);
        }
        if (l->kind.t && !streq(kind, "NodeList") && !streq(kind, "List"))
                return pn_error_plain(err, EINVAL, 0, "kind: expected NodeList or Node, got %s",
                                      kind);
        if (!l->items.t)
                return pn_error_plain(err, EINVAL, 0, "items: missing");
        if (l->items.t != JT_ARRAY)
                return type_error(err, "items", "", "an array", l->items.t);
        if (l->item_r < 0) {
                r = l->item_r;
                if (err && !*err)
                        *err = steal_pointer(&l->item_err);
                return r;
        }
        return 0;
}

static const char *jstr_or_null(const struct jcap *c, const struct jstr *s)
{
        return s->t == JT_STRING ? jcap_str(c, s) : NULL;
}

const char *pn_nodes_reader_rv(const struct pn_nodes_reader *nr)
{
        return jstr_or_null(&nr->l.root, &nr->l.root.rv);
}

const char *pn_nodes_reader_continue(const struct pn_nodes_reader *nr)
{
        return jstr_or_null(&nr->l.root, &nr->l.root.cont);
}

int pn_nodes_reader_event(struct pn_nodes_reader *nr, const char **type, const char **rv,
                          const char **message, podnet_error **err)
{
        struct jlist *l = &nr->l;
        const struct jcap *o = &l->item;

        *type = jstr_or_null(&l->root, &l->type);
        *rv = jstr_or_null(o, &o->rv);
        *message = jstr_or_null(o, &o->message);
        if (!*type || l->item.item.t != JT_OBJECT)
                return pn_error_plain(err, EINVAL, 0, "Watch event: no type or object");
        if (streq(*type, "ADDED") || streq(*type, "MODIFIED") || streq(*type, "DELETED"))
                return node_from_capture(l->nodes, o, "object", err);
        return 0;
}

int pn_nodes_parse_json(podnet_nodes *nodes, const char *text, size_t len, podnet_error **err)
{
        struct pn_nodes_reader *nr = NULL;
        int r = pn_nodes_reader_new(nodes, false, &nr);

        if (r < 0)
                return r;
        pn_jreader_set_buffer(nr->w.jr, text, len);
        nr->chunk = text;
        nr->chunk_len = len;
        r = walk(nr);
        nr->finished = true;
        nr->r = r < 0 ? r : 1;
        if (r < 0 && pn_jreader_error(nr->w.jr, NULL) && memchr(text, 0, len))
                nr->nul = true; /* checked here only: it costs a pass */
        r = pn_nodes_reader_end(nr, err);
        pn_nodes_reader_free(nr);
        return r;
}

/* --- writing ------------------------------------------------------------------------------ */

static json_t *address_json(const podnet_cidr *a, enum pn_addr_type t)
{
        char buf[PODNET_CIDR_STRLEN];

        if (podnet_cidr_format_addr(a, buf, sizeof(buf)) < 0)
                return NULL;
        return json_pack("{s:s,s:s}", "address", buf, "type",
                         t == PN_ADDR_EXTERNAL ? "ExternalIP" : "InternalIP");
}

PODNET_EXPORT int podnet_nodes_format_json(const podnet_nodes *nodes, char **ret)
{
        json_t *root, *items;
        char *s;

        if (!nodes || !ret)
                return -EINVAL;
        root = json_pack("{s:s,s:s,s:[]}", "apiVersion", "v1", "kind", "NodeList", "items");
        if (!root)
                return -ENOMEM;
        items = json_object_get(root, "items");
        for (size_t i = 0; i < nodes->n; i++) {
                const struct pn_node *n = &nodes->nodes[i];
                json_t *item, *spec, *cidrs, *addrs;
                char buf[PODNET_CIDR_STRLEN];

                item =
                    json_pack("{s:s,s:s,s:{s:s},s:{},s:{s:[]}}", "apiVersion", "v1", "kind", "Node",
                              "metadata", "name", n->name, "spec", "status", "addresses");
                if (!item || json_array_append_new(items, item) < 0)
                        goto oom;
                spec = json_object_get(item, "spec");
                if (n->n_pod_cidrs > 0) {
                        cidrs = json_array();
                        if (!cidrs || json_object_set_new(spec, "podCIDRs", cidrs) < 0)
                                goto oom;
                        for (size_t j = 0; j < n->n_pod_cidrs; j++) {
                                if (podnet_cidr_format(n->pod_cidrs[j], buf, sizeof(buf)) < 0)
                                        goto oom;
                                if (j == 0 &&
                                    json_object_set_new(spec, "podCIDR", json_string(buf)) < 0)
                                        goto oom;
                                if (json_array_append_new(cidrs, json_string(buf)) < 0)
                                        goto oom;
                        }
                        /* kubectl prints podCIDR first */
                }
                addrs = json_object_get(json_object_get(item, "status"), "addresses");
                if (n->addr4 && json_array_append_new(addrs, address_json(n->addr4, n->type4)) < 0)
                        goto oom;
                if (n->addr6 && json_array_append_new(addrs, address_json(n->addr6, n->type6)) < 0)
                        goto oom;
                if (json_array_append_new(
                        addrs, json_pack("{s:s,s:s}", "address", n->name, "type", "Hostname")) < 0)
                        goto oom;
        }
        s = json_dumps(root, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
        json_decref(root);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
oom:
        json_decref(root);
        return -ENOMEM;
}
