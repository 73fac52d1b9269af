/**
 * `stackts http -w FORMAT` (src/cli/write_out.ts): curl's --write-out forms,
 * worked out by hand from curl's manual and what curl 7.88 prints here
 * (`curl -w '%{time_total} %{speed_download}'`: "0.079256 661512062").
 */
import { describe, expect, it } from "vitest";
import { UsageError } from "../src/cli/errors.ts";
import { parseWriteOut, writeOut, type WriteOutValues } from "../src/cli/write_out.ts";

const values: WriteOutValues = {
  http_code: 200,
  size_download: 52428800,
  size_header: 248,
  speed_download: 661512061.9,
  time_connect: 0.000183,
  time_starttransfer: 0.0005684,
  time_total: 0.0792559,
  url_effective: "http://10.77.0.1/file.bin",
  num_redirects: 0,
  remote_ip: "10.77.0.1",
  remote_port: 80,
};

describe("-w FORMAT", () => {
  it("variables in curl's forms: whole numbers, seconds with six decimals, text as is", () => {
    const f = parseWriteOut("%{http_code} %{size_download} %{size_header} %{speed_download} %{time_connect} %{time_starttransfer} %{time_total} %{url_effective} %{num_redirects} %{remote_ip}:%{remote_port}");
    expect(writeOut(f, values)).toBe("200 52428800 248 661512062 0.000183 0.000568 0.079256 http://10.77.0.1/file.bin 0 10.77.0.1:80");
  });

  it("%% is a percent sign; \\n \\r \\t \\\\ are escapes; other text and backslashes stay", () => {
    expect(writeOut(parseWriteOut("100%% done\\n\\t\\r\\\\ \\x %d"), values)).toBe("100% done\n\t\r\\ \\x %d");
  });

  it("an unknown variable or an unclosed %{ is a usage error that names it", () => {
    expect(() => parseWriteOut("%{nope}")).toThrow(UsageError);
    expect(() => parseWriteOut("%{nope}")).toThrow(/unknown variable '%\{nope\}'/);
    expect(() => parseWriteOut("a %{http_code")).toThrow(/'%\{' without its '\}'/);
  });
});
