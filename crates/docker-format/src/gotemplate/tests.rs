//! The engine against Go's outputs for the same template and data.

use super::{Mode, Template};
use serde_json::{json, Value};

fn run(t: &str, data: &Value, mode: Mode) -> Result<String, String> {
    Template::parse(t)
        .map_err(|e| e.0)?
        .execute(data, mode)
        .map_err(|e| e.0)
}

/// `template` on `data` (an inspect document) prints `want`.
#[track_caller]
fn check(template: &str, data: &Value, want: &str) {
    assert_eq!(
        run(template, data, Mode::Documents).as_deref(),
        Ok(want),
        "{template}"
    );
}

/// `template` fails with a message containing `want`.
#[track_caller]
fn check_err(template: &str, data: &Value, want: &str) {
    match run(template, data, Mode::Documents) {
        Ok(out) => panic!("{template}: printed {out:?}, want an error with {want:?}"),
        Err(e) => assert!(e.contains(want), "{template}: {e:?} lacks {want:?}"),
    }
}

fn container() -> Value {
    json!({
        "Id": "abc123",
        "State": {"Running": true, "Status": "running", "Pid": 42, "Health": null},
        "Mounts": [
            {"Source": "/data", "Destination": "/var/lib/data"},
            {"Source": "/logs", "Destination": "/var/log"}
        ],
        "Config": {
            "Labels": {"com.example.x": "yes", "app": "web"},
            "Cmd": ["sh", "-c"],
            "Env": ["PATH=/bin", "HOME=/root"],
            "Entrypoint": null,
            "ExposedPorts": {}
        },
        "Size": 1000000,
        "Ratio": 0.25,
        "Big": 1234567.5,
        "Tiny": 0.00001
    })
}

#[test]
fn text_and_fields() {
    let c = container();
    check("id={{.Id}} {{.State.Status}}", &c, "id=abc123 running");
    check("{{.}}", &json!("plain"), "plain");
    check("no actions", &c, "no actions");
}

#[test]
fn values_print_as_go_prints_them() {
    let c = container();
    check("{{.Config.Env}}", &c, "[PATH=/bin HOME=/root]");
    check("{{.Config.Cmd}}", &c, "[sh -c]");
    check("{{.Config.Labels}}", &c, "map[app:web com.example.x:yes]");
    check(
        "{{.State.Running}} {{.State.Pid}} {{.Size}}",
        &c,
        "true 42 1000000",
    );
    check(
        "{{.Ratio}} {{.Big}} {{.Tiny}}",
        &c,
        "0.25 1.2345675e+06 1e-05",
    );
    check(
        "{{.Config.Entrypoint}} {{.Config.ExposedPorts}}",
        &c,
        "<nil> map[]",
    );
    check(
        "{{.}}",
        &json!([[1, "a"], {"k": [true, null]}]),
        "[[1 a] map[k:[true <nil>]]]",
    );
    check("{{.}}", &json!(1e6), "1000000");
}

#[test]
fn missing_keys_are_no_value_in_documents_and_errors_in_rows() {
    let c = container();
    check(
        "{{.Nope}} {{.Config.Nope}} {{.Nope.Deeper}}",
        &c,
        "<no value> <no value> <no value>",
    );
    check_err(
        "{{.Id.X}}",
        &c,
        "template: :1:2: executing \"\" at <.Id.X>: can't evaluate field X in type string",
    );
    check_err(
        "{{.State.Health.Status}}",
        &c,
        "nil pointer evaluating interface {}.Status",
    );
    check_err(
        "{{.Mounts.Source}}",
        &c,
        "can't evaluate field Source in type []interface {}",
    );
    let row = json!({"ID": "a"});
    assert_eq!(
        run("{{.Nope}}", &row, Mode::Rows).unwrap_err(),
        "template: :1:2: executing \"\" at <.Nope>: can't evaluate field Nope"
    );
}

#[test]
fn range_over_lists_maps_and_nothing() {
    let c = container();
    check("{{range .Mounts}}{{.Source}} {{end}}", &c, "/data /logs ");
    check(
        "{{range $k, $v := .Config.Labels}}{{$k}}={{$v}}{{println}}{{end}}",
        &c,
        "app=web\ncom.example.x=yes\n",
    );
    check(
        "{{range $i, $e := .Config.Cmd}}{{$i}}:{{$e}},{{end}}",
        &c,
        "0:sh,1:-c,",
    );
    check("{{range $e := .Config.Cmd}}<{{$e}}>{{end}}", &c, "<sh><-c>");
    check(
        "{{range .Config.Entrypoint}}x{{else}}none{{end}}",
        &c,
        "none",
    );
    check("{{range .Nope}}x{{else}}none{{end}}", &c, "none");
    check(
        "{{range .Config.ExposedPorts}}x{{else}}empty{{end}}",
        &c,
        "empty",
    );
    check_err(
        "{{range .Id}}{{end}}",
        &c,
        "range can't iterate over abc123",
    );
    check_err(
        "{{range .Size}}{{end}}",
        &c,
        "range can't iterate over 1000000",
    );
}

#[test]
fn break_and_continue() {
    let d = json!([1, 2, 3, 4, 5]);
    check(
        "{{range .}}{{if eq . 2}}{{continue}}{{end}}{{if eq . 4}}{{break}}{{end}}{{.}}{{end}}",
        &d,
        "13",
    );
    check_err("{{break}}", &d, "{{break}} outside {{range}}");
    check_err(
        "{{range .}}{{else}}{{continue}}{{end}}",
        &d,
        "{{continue}} outside {{range}}",
    );
}

#[test]
fn nested_range_with_and_dollar() {
    let d = json!({"Name": "top", "Groups": [{"N": "g1", "Items": ["a", "b"]}, {"N": "g2", "Items": []}]});
    check(
        "{{range .Groups}}{{.N}}({{range .Items}}{{.}}{{$.Name}} {{else}}-{{end}}){{end}}",
        &d,
        "g1(atop btop )g2(-)",
    );
    check(
        "{{with .Groups}}{{with index . 0}}{{.N}} {{$.Name}}{{end}}{{end}}",
        &d,
        "g1 top",
    );
    check(
        "{{range $g := .Groups}}{{range .Items}}{{$g.N}}{{.}}{{end}}{{end}}",
        &d,
        "g1ag1b",
    );
}

#[test]
fn if_else_if_else() {
    let c = container();
    check("{{if .State.Running}}up{{else}}down{{end}}", &c, "up");
    check("{{if .Nope}}up{{else}}down{{end}}", &c, "down");
    check(
        "{{if not .State.Running}}a{{else if .Id}}b{{else}}c{{end}}",
        &c,
        "b",
    );
    check(
        "{{if false}}a{{else if 0}}b{{else if \"\"}}c{{else}}d{{end}}",
        &c,
        "d",
    );
    for falsy in [
        "false",
        "0",
        "0.0",
        "\"\"",
        ".Config.ExposedPorts",
        ".Config.Entrypoint",
    ] {
        check(
            &format!("{{{{if {falsy}}}}}t{{{{else}}}}f{{{{end}}}}"),
            &c,
            "f",
        );
    }
}

#[test]
fn with_sets_dot() {
    let c = container();
    check("{{with .State}}{{.Status}}{{end}}", &c, "running");
    check("{{with .Nope}}x{{else}}none{{end}}", &c, "none");
    check("{{with .Nope}}x{{else with .Id}}{{.}}{{end}}", &c, "abc123");
    check("{{with $x := .State.Pid}}{{$x}}{{end}}", &c, "42");
}

#[test]
fn variables_declare_and_assign() {
    let c = container();
    check("{{$x := .Id}}{{$x}}", &c, "abc123");
    check(
        "{{$x := 1}}{{range .Mounts}}{{$x = .Source}}{{end}}{{$x}}",
        &c,
        "/logs",
    );
    check("{{$s := .State}}{{$s.Status}}", &c, "running");
    check("{{$}}", &json!("root"), "root");
    check_err("{{$nope}}", &c, "undefined variable \"$nope\"");
    check_err("{{$nope = 1}}", &c, "undefined variable \"$nope\"");
    // A variable declared in a control ends with it.
    check_err(
        "{{if true}}{{$y := 1}}{{end}}{{$y}}",
        &c,
        "undefined variable \"$y\"",
    );
}

#[test]
fn literals() {
    let d = json!(null);
    check(r#"{{"a\tb\u00e9\x41\101"}}"#, &d, "a\tbéAA");
    check("{{`raw \\n`}}", &d, "raw \\n");
    check(
        "{{1}} {{-2}} {{0x1F}} {{0o17}} {{017}} {{1_000}} {{'a'}}",
        &d,
        "1 -2 31 15 15 1000 97",
    );
    check("{{1.5}} {{1e3}} {{.5}}", &d, "1.5 1000 0.5");
    check("{{true}} {{false}}", &d, "true false");
    check_err("{{nil}}", &d, "nil is not a command");
    check_err("{{1x}}", &d, "bad number syntax: \"1x\"");
    check_err("{{1i}}", &d, "complex number 1i is not supported");
    check_err("{{\"abc}}", &d, "unterminated quoted string");
}

#[test]
fn pipelines_and_parentheses() {
    let c = container();
    check(r#"{{.Id | printf "%.4s"}}"#, &c, "abc1");
    check("{{.Id | upper | printf \"<%s>\"}}", &c, "<ABC123>");
    check("{{(index .Mounts 1).Source}}", &c, "/logs");
    check("{{len (split .Id \"1\")}}", &c, "2");
    check_err(
        "{{.Id | .State}}",
        &c,
        "State is not a method but has arguments",
    );
    check_err(
        "{{.Id | \"x\"}}",
        &c,
        "non executable command in pipeline stage 2",
    );
    check_err(
        "{{$x := 1}}{{$x 2}}",
        &c,
        "can't give argument to non-function $x",
    );
    check_err("{{(1}}", &c, "unclosed left paren");
    check_err("{{.Id |}}", &c, "missing value for command");
    check_err("{{}}", &c, "missing value for command");
    check_err("{{.Id)}}", &c, "unexpected \")\" in command");
}

#[test]
fn trim_markers_and_comments() {
    let d = json!({"A": "a"});
    check("x  {{- .A -}}  \n y", &d, "xay");
    check("x {{- /* gone */ -}} y", &d, "xy");
    check("x {{/* gone */}} y", &d, "x  y");
    check("{{- /* comment */ -}}", &d, "");
    check("{{-3}}", &d, "-3");
    check_err("{{/* open", &d, "unclosed comment");
    check_err(
        "{{/* c */ .A}}",
        &d,
        "comment ends before closing delimiter",
    );
}

#[test]
fn unclosed_and_unexpected() {
    let d = json!({});
    check_err("{{if true}}x", &d, "unexpected EOF");
    check_err("{{end}}", &d, "unexpected {{end}}");
    check_err("{{else}}", &d, "unexpected {{else}}");
    check_err(
        "{{if true}}{{else}}{{else}}{{end}}",
        &d,
        "expected end; found {{else}}",
    );
    check_err("{{#}}", &d, "unrecognized character in action: U+0023 '#'");
    check_err("{{template \"x\"}}", &d, "{{template}} is not supported");
    check_err("{{block \"x\" .}}{{end}}", &d, "{{block}} is not supported");
    check_err(
        "{{range $a, $b := .}}{{end}}{{if $a, $b := 1}}{{end}}",
        &d,
        "too many declarations in if",
    );
}

#[test]
fn nesting_is_bounded() {
    let deep = "{{if true}}".repeat(101) + &"{{end}}".repeat(101);
    check_err(&deep, &json!(1), "nesting too deep");
    let ok = "{{if true}}".repeat(100) + "x" + &"{{end}}".repeat(100);
    check(&ok, &json!(1), "x");
    let parens = "{{".to_string() + &"(".repeat(200) + "1" + &")".repeat(200) + "}}";
    check_err(&parens, &json!(1), "nesting too deep");
    let chain = "{{if false}}".to_string() + &"{{else if false}}".repeat(150) + "{{end}}";
    check_err(&chain, &json!(1), "nesting too deep");
}

#[test]
fn and_or_not() {
    let d = json!({"T": true, "F": false, "S": "s"});
    check(
        "{{and .T .S}} {{and .F .S}} {{or .F .S}} {{or .F 0}} {{not .F}}",
        &d,
        "s false s 0 true",
    );
    // Short-circuit: the failing call after the deciding argument is never made.
    check(
        "{{or .T (index .S 99)}} {{and .F (index .S 99)}}",
        &d,
        "true false",
    );
    check_err("{{not}}", &d, "wrong number of args for not: want 1 got 0");
}

#[test]
fn len_index_slice() {
    let c = container();
    check(
        "{{len .Mounts}} {{len .Id}} {{len .Config.Labels}}",
        &c,
        "2 6 2",
    );
    check(r#"{{index .Config.Labels "com.example.x"}}"#, &c, "yes");
    check(r#"[{{index .Config.Labels "nope"}}]"#, &c, "[]");
    check(r#"{{index .State "nope"}}"#, &c, "<no value>");
    check(
        "{{index .Config.Cmd 1}} {{index .Mounts 0 \"Source\"}} {{index .Id 0}}",
        &c,
        "-c /data 97",
    );
    check(
        "{{slice .Id 1 3}} {{slice .Config.Env 1}} {{slice .Id}}",
        &c,
        "bc [HOME=/root] abc123",
    );
    check_err(
        "{{index .Config.Cmd 5}}",
        &c,
        "error calling index: index out of range: 5",
    );
    check_err("{{index .State.Pid 0}}", &c, "can't index item of type int");
    check_err(
        "{{len .State.Pid}}",
        &c,
        "error calling len: len of type int",
    );
    check_err("{{slice .Id 4 2}}", &c, "invalid slice index: 4 > 2");
    check_err("{{slice .Id 0 9}}", &c, "index out of range: 9");
    check_err("{{slice \"é\" 1}}", &c, "splits a UTF-8 sequence");
}

#[test]
fn comparisons() {
    let c = container();
    check(
        "{{eq .State.Status \"running\"}} {{eq .State.Pid 42}} {{eq 1 2 3 1}}",
        &c,
        "true true true",
    );
    check(
        "{{ne .Id \"x\"}} {{lt 1 2}} {{le 2 2}} {{gt 1.5 1}} {{ge \"a\" \"b\"}}",
        &c,
        "true true true true false",
    );
    check("{{eq .Nope nil}} {{eq .Id nil}}", &c, "true false");
    check_err(
        "{{eq .Id 1}}",
        &c,
        "error calling eq: incompatible types for comparison",
    );
    check_err(
        "{{lt true false}}",
        &c,
        "error calling lt: invalid type for comparison",
    );
    check_err(
        "{{eq .Mounts .Mounts}}",
        &c,
        "non-comparable type []interface {}",
    );
    check_err("{{eq 1}}", &c, "missing argument for comparison");
}

#[test]
fn print_printf_println() {
    let c = container();
    check("{{print \"a\" \"b\" 1 2 true}}", &c, "ab1 2 true");
    check("{{println \"a\" 1}}", &c, "a 1\n");
    check("{{println}}", &c, "\n");
    check(
        r#"{{printf "%s|%d|%v|%q|%x|%t" .Id .State.Pid .Config.Cmd .Id .State.Pid true}}"#,
        &c,
        "abc123|42|[sh -c]|\"abc123\"|2a|true",
    );
    check(
        r#"{{printf "%.2f|%f|%e|%g" .Ratio 1.5 1234.5 .Big}}"#,
        &c,
        "0.25|1.500000|1.234500e+03|1.2345675e+06",
    );
    check(
        r#"{{printf "[%5s][%-5s][%05d][%.2s][%+d][%x][%X][%o][%b][%c][%U][%%]" "ab" "ab" 42 "abc" 3 "hi" 255 8 5 65 65}}"#,
        &c,
        "[   ab][ab   ][00042][ab][+3][6869][FF][10][101][A][U+0041][%]",
    );
    check(
        r#"{{printf "%d %s" "x" 1}}"#,
        &c,
        "%!d(string=x) %!s(int=1)",
    );
    check(r#"{{printf "%d %d" 1}}"#, &c, "1 %!d(MISSING)");
    check(r#"{{printf "%d" 1 "x"}}"#, &c, "1%!(EXTRA string=x)");
    check(
        r#"{{printf "%v %s %T" nil .Nope .Config.Cmd}}"#,
        &c,
        "<nil> %!s(<nil>) []interface {}",
    );
    check(r#"{{printf "%q" .Config.Cmd}}"#, &c, "[\"sh\" \"-c\"]");
    check(
        r#"{{printf "%6.2f|%.3g|%g" 3.14159 1234.0 100000000.0}}"#,
        &c,
        "  3.14|1.23e+03|1e+08",
    );
    check_err(r#"{{printf "%20000s" "x"}}"#, &c, "over the limit of 10000");
}

#[test]
fn html_js_urlquery() {
    let d = json!(null);
    check(
        r#"{{html "<a href='x'>&\"</a>"}}"#,
        &d,
        "&lt;a href=&#39;x&#39;&gt;&amp;&#34;&lt;/a&gt;",
    );
    check(
        r#"{{js "it's <b>\"x\"</b> = \\"}}"#,
        &d,
        "it\\'s \\u003Cb\\u003E\\\"x\\\"\\u003C/b\\u003E \\u003D \\\\",
    );
    check(r#"{{urlquery "a b&c=d/é"}}"#, &d, "a+b%26c%3Dd%2F%C3%A9");
    check(r#"{{html 1 2}}"#, &d, "1 2");
}

#[test]
fn docker_json() {
    let c = container();
    check("{{json .Config.Cmd}}", &c, r#"["sh","-c"]"#);
    check(
        "{{json .State.Status}} {{json .Nope}} {{json 1.5}}",
        &c,
        r#""running" null 1.5"#,
    );
    // Keys in the document's order (the strata binary keeps Docker's field order, as Go
    // marshals a struct; this crate alone sorts them): given sorted, either way.
    check(
        "{{json .}}",
        &json!({"a": 1, "b": "<&>"}),
        r#"{"a":1,"b":"<&>"}"#,
    );
    check("{{json (split \"a,b\" \",\")}}", &c, r#"["a","b"]"#);
    check("{{json \"\u{2028}\"}}", &c, r#""\u2028""#);
}

#[test]
fn docker_split_join() {
    let c = container();
    check("{{join .Config.Cmd \" \"}}", &c, "sh -c");
    check(
        "{{split \"a,b,,c\" \",\"}} {{len (split \"\" \",\")}} {{split \"héj\" \"\"}}",
        &c,
        "[a b  c] 1 [h é j]",
    );
    check("{{join (split \"a:b\" \":\") \"-\"}}", &c, "a-b");
    check("[{{join .Config.Entrypoint \",\"}}]", &c, "[]");
    check_err(
        "{{join .Id \",\"}}",
        &c,
        "wrong type for value; expected []string; got string",
    );
    check_err(
        "{{split .State.Pid \",\"}}",
        &c,
        "wrong type for value; expected string; got int",
    );
}

#[test]
fn docker_title_lower_upper() {
    let d = json!(null);
    check(
        r#"{{title "hello wörld foo_bar x-y"}}"#,
        &d,
        "Hello Wörld Foo_bar X-Y",
    );
    check(r#"{{lower "ÀbC"}} {{upper "àbc"}}"#, &d, "àbc ÀBC");
}

#[test]
fn docker_pad_truncate() {
    let d = json!(null);
    check(r#"[{{pad "ab" 2 1}}][{{pad "" 5 5}}]"#, &d, "[  ab ][]");
    check(
        r#"{{truncate "abcdef" 3}} {{truncate "ab" 3}} {{truncate "ab" 2}} {{truncate "é" 1}}|"#,
        &d,
        "abc ab ab |",
    );
    check_err(
        r#"{{pad "a" 20000 0}}"#,
        &d,
        "error calling pad: padding 20000 is over the limit of 10000",
    );
    check_err(r#"{{pad "a" -1 0}}"#, &d, "negative Repeat count");
    check_err(r#"{{truncate "a" -1}}"#, &d, "error calling truncate");
    check_err(
        r#"{{pad "a" 1}}"#,
        &d,
        "wrong number of args for pad: want 3 got 2",
    );
}

#[test]
fn header_mode_leaves_headers_to_pad() {
    let h = json!({"Status": "STATUS"});
    let out = run(
        "{{upper .Status}}|{{truncate .Status 2}}|{{pad .Status 1 0}}",
        &h,
        Mode::Header,
    );
    assert_eq!(out.unwrap(), "STATUS|STATUS| STATUS");
}

#[test]
fn execution_is_bounded() {
    let d = json!({"L": (0..200).map(|i| i.to_string()).collect::<Vec<_>>()});
    // 200³ iterations of nothing, and doubling a string: both stop at the budget.
    check_err(
        "{{range .L}}{{range $.L}}{{range $.L}}{{end}}{{end}}{{end}}",
        &d,
        "execution stopped",
    );
    check_err(
        "{{$x := \"ab\"}}{{range .L}}{{$x = printf \"%s%s\" $x $x}}{{end}}",
        &d,
        "execution stopped",
    );
    check_err(
        "{{range .L}}{{range $.L}}{{pad \"x\" 10000 0}}{{end}}{{end}}",
        &d,
        "execution stopped",
    );
}

#[test]
fn field_names_for_headers() {
    let t = Template::parse("{{.A}} {{upper .B}} {{if .C}}{{$.D}}{{end}} {{(.E)}} {{.A}}").unwrap();
    assert_eq!(t.fields(), ["A", "B", "C", "D", "E"]);
}

#[test]
fn error_positions_count_lines_and_columns() {
    let c = container();
    check_err(
        "line one\n  {{.Id.X}}",
        &c,
        "template: :2:4: executing \"\" at <.Id.X>",
    );
    check_err(
        "a\n{{nope}}",
        &c,
        "template parsing error: template: :2: function \"nope\" not defined",
    );
}
