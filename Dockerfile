# stackts in a container: capture and inject from inside, libpcap underneath.
#
#   docker build -t stackts .
#   docker run --rm -it --privileged --network host stackts capture eth0
#   docker run --rm -it --cap-add NET_RAW --cap-add NET_ADMIN --network host stackts capture eth0
#
# Two stages: "build" has the compilers and dev dependencies; the final image
# has node, libpcap0.8, ethtool (for doctor's offload check) and the
# built package only. See docs/docker.md.

FROM node:22-bookworm-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      g++ make python3 libpcap-dev \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
WORKDIR /app
# Build native modules against the headers this image's node ships in
# /usr/local/include/node, instead of downloading them from nodejs.org.
ENV npm_config_nodedir=/usr/local
COPY package.json package-lock.json binding.gyp ./
COPY native ./native
# npm ci also runs the package's own install script (node-gyp rebuild), which
# builds build/Release/stackts_pcap.node; a project's own scripts run under
# every npm. Dependencies' install scripts: npm 10 (node 22's) runs them all,
# npm 11.16+ runs them and warns about any missing from package.json
# "allowScripts", npm 12 runs only those listed there.
RUN npm ci --no-audit --no-fund \
 && test -f build/Release/stackts_pcap.node
COPY tsconfig.json tsconfig.build.json ./
COPY layers ./layers
COPY src ./src
COPY bin ./bin
COPY scripts/build_cli.mjs scripts/bundle_consts.mjs ./scripts/
COPY scripts/build_report_page.mjs ./scripts/
RUN npm run build:ts \
 && npm prune --omit=dev --no-audit --no-fund \
 && find dist -name '*.map' -delete \
 && rm -rf node_modules/.cache

FROM node:22-bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libpcap0.8 ethtool \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
WORKDIR /opt/stackts
COPY --from=build /app/package.json ./
COPY --from=build /app/bin ./bin
COPY --from=build /app/dist ./dist
COPY --from=build /app/build/Release/stackts_pcap.node ./build/Release/stackts_pcap.node
COPY --from=build /app/node_modules ./node_modules
RUN ln -s /opt/stackts/bin/stackts.js /usr/local/bin/stackts \
 && stackts --help >/dev/null
# Root inside the container: capture needs CAP_NET_RAW in the effective set,
# which a non-root user only gets through file capabilities. Use `-Z nobody`
# to drop to an unprivileged user once the device is open.
ENTRYPOINT ["stackts"]
CMD ["--help"]
