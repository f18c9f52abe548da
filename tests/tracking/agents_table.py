"""Real user agents (as their software sends them) and what a click from each must be.

Sources: the vendors' documentation of their fetchers, and agents logged by redirect
servers; the phone browsers are the current releases' default strings."""

from __future__ import annotations

# (what, user agent, verdict)
PREVIEWERS = [
    ("iMessage link preview", "facebookexternalhit/1.1 Facebot Twitterbot/1.0", "preview"),
    ("Google Messages preview",
     "Mozilla/5.0 (Linux; Android 11; Pixel 5 Build/RQ3A.211001.001; wv) AppleWebKit/537.36 "
     "(KHTML, like Gecko) Version/4.0 Chrome/96.0.4664.104 Mobile Safari/537.36 "
     "GoogleMessages", "preview"),
    ("Google Messages fetcher", "GoogleMessages/20231012 (Linux; Android 14)", "preview"),
    ("Google page renderer",
     "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0.0.0 Safari/537.36 Google-PageRenderer Google "
     "(+https://developers.google.com/+/web/snippet/)", "preview"),
    ("WhatsApp", "WhatsApp/2.23.20.0 A", "preview"),
    ("WhatsApp iOS", "WhatsApp/2.24.6.77 i", "preview"),
    ("Slack unfurl", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "preview"),
    ("Slack image proxy", "Slack-ImgProxy (+https://api.slack.com/robots)", "preview"),
    ("Discord", "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)", "preview"),
    ("Telegram", "TelegramBot (like TwitterBot)", "preview"),
    ("Facebook", "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
     "preview"),
    ("Facebook crawler 2",
     "facebookcatalog/1.0 facebookexternalhit/1.1 "
     "(+http://www.facebook.com/externalhit_uatext.php)", "preview"),
    ("Meta external agent",
     "meta-externalagent/1.1 (+https://developers.facebook.com/docs/sharing/webmasters/crawler)",
     "preview"),
    ("Twitter/X", "Twitterbot/1.0", "preview"),
    ("LinkedIn",
     "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
     "preview"),
    ("Skype", "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5", "preview"),
    ("Microsoft Teams / Outlook preview",
     "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/116.0.0.0 Safari/537.36 MicrosoftPreview/2.0 "
     "+https://aka.ms/MicrosoftPreview", "preview"),
    ("Viber", "Mozilla/5.0 (compatible; Viber/20.3.0; +http://www.viber.com)", "preview"),
    ("Snapchat preview", "Mozilla/5.0 (compatible; Snap URL Preview Service; bot; snapchat; "
     "https://developers.snap.com/robots)", "preview"),
    ("Pinterest", "Pinterest/0.2 (+http://www.pinterest.com/bot.html)", "preview"),
    ("Reddit", "Mozilla/5.0 (compatible; redditbot/1.0; +http://www.reddit.com/feedback)",
     "preview"),
    ("Mastodon", "http.rb/5.1.1 (Mastodon/4.2.1; +https://mastodon.social/)", "preview"),
    ("Bing preview",
     "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/70.0.3538.102 Safari/537.36 Edge/18.17763 BingPreview/1.0b", "preview"),
    ("Yahoo mail proxy", "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html",
     "preview"),
    ("Gmail image proxy",
     "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
     "preview"),
]
SCANNERS = [
    ("VirusTotal", "Mozilla/5.0 (compatible; virustotal)", "scanner"),
    ("Netcraft", "Mozilla/5.0 (compatible; NetcraftSurveyAgent/1.0; +info@netcraft.com)",
     "scanner"),
    ("Censys", "Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)",
     "scanner"),
    ("zgrab", "Mozilla/5.0 zgrab/0.x", "scanner"),
    ("Nmap", "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)",
     "scanner"),
    ("Google Safe Browsing trust", "Google-Trust-Services/1.0", "scanner"),
    ("Cloudflare security", "Mozilla/5.0 (compatible; Cloudflare-SSLDetector)", "scanner"),
    ("Lightspeed filter",
     "Mozilla/5.0 (compatible; LightspeedSystemsCrawler http://www.lightspeedsystems.com)",
     "scanner"),
    ("Project Shield URL check", "ProjectShield-UrlCheck", "scanner"),
    ("Sucuri", "Mozilla/5.0 (compatible; Sucuri/1.0; +https://sucuri.net)", "scanner"),
    ("Unshorten.It", "Mozilla/5.0 (compatible; Unshorten.It!; +https://unshorten.it)",
     "scanner"),
]
BOTS = [
    ("curl", "curl/8.5.0", "bot"),
    ("wget", "Wget/1.21.4", "bot"),
    ("python-requests", "python-requests/2.31.0", "bot"),
    ("Python urllib", "Python-urllib/3.11", "bot"),
    ("aiohttp", "Python/3.11 aiohttp/3.9.1", "bot"),
    ("httpx", "python-httpx/0.27.0", "bot"),
    ("Go", "Go-http-client/2.0", "bot"),
    ("okhttp", "okhttp/4.12.0", "bot"),
    ("Java Apache", "Apache-HttpClient/4.5.14 (Java/17.0.9)", "bot"),
    ("node-fetch", "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)", "bot"),
    ("axios", "axios/1.6.2", "bot"),
    ("headless Chrome",
     "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "HeadlessChrome/120.0.6099.109 Safari/537.36", "bot"),
    ("PhantomJS",
     "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) "
     "PhantomJS/2.1.1 Safari/538.1", "bot"),
    ("Googlebot", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
     "bot"),
    ("Bingbot", "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
     "bot"),
    ("empty", "", "bot"),
]
HUMANS = [
    ("iPhone Safari",
     "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
     "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", "human"),
    ("iPhone Safari 18",
     "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
     "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", "human"),
    ("iPad Safari",
     "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/16.6 Mobile/15E148 Safari/604.1", "human"),
    ("Chrome on iPhone",
     "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
     "(KHTML, like Gecko) CriOS/123.0.6312.52 Mobile/15E148 Safari/604.1", "human"),
    ("Firefox on iPhone",
     "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
     "(KHTML, like Gecko) FxiOS/124.0 Mobile/15E148 Safari/605.1.15", "human"),
    ("Chrome on Pixel",
     "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/123.0.6312.80 Mobile Safari/537.36", "human"),
    ("Chrome on Android (reduced)",
     "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.0.0 Mobile Safari/537.36", "human"),
    ("Samsung Internet",
     "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
     "SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36", "human"),
    ("Firefox on Android",
     "Mozilla/5.0 (Android 14; Mobile; rv:124.0) Gecko/124.0 Firefox/124.0", "human"),
    ("Edge on Android",
     "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/123.0.0.0 Mobile Safari/537.36 EdgA/123.0.2420.102", "human"),
    ("Opera on Android",
     "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/119.0.0.0 Mobile Safari/537.36 OPR/79.0.4195.76880", "human"),
    ("Motorola Chrome",
     "Mozilla/5.0 (Linux; Android 13; moto g power (2023)) AppleWebKit/537.36 (KHTML, like "
     "Gecko) Chrome/122.0.0.0 Mobile Safari/537.36", "human"),
    ("Android WebView (SMS app link)",
     "Mozilla/5.0 (Linux; Android 13; SM-A536U Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
     "(KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.230 Mobile Safari/537.36", "human"),
    ("Facebook in-app on iPhone",
     "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3_1 like Mac OS X) AppleWebKit/605.1.15 "
     "(KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS;"
     "FBSV/17.3.1;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5;FBRV/0]", "human"),
    ("Facebook in-app on Android",
     "Mozilla/5.0 (Linux; Android 13; SM-G991U Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
     "(KHTML, like Gecko) Version/4.0 Chrome/121.0.6167.178 Mobile Safari/537.36 "
     "[FB_IAB/FB4A;FBAV/452.0.0.39.110;]", "human"),
    ("Messenger in-app",
     "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 "
     "(KHTML, like Gecko) Mobile/15E148 [FBAN/MessengerLiteForiOS;FBAV/445.0.0.30.111;"
     "FBBV/560000000;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/17.2]", "human"),
    ("Instagram in-app",
     "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15 "
     "(KHTML, like Gecko) Mobile/15E148 Instagram 318.0.7.22.109 (iPhone15,3; iOS 17_3; "
     "en_US; en; scale=3.00; 1290x2796; 565629231)", "human"),
    ("Instagram in-app Android",
     "Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230901.001; wv) AppleWebKit/537.36 "
     "(KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.210 Mobile Safari/537.36 Instagram "
     "312.1.0.34.111 Android (33/13; 420dpi; 1080x2209; Google/google; Pixel 7; panther; "
     "panther; en_US; 548323757)", "human"),
    ("TikTok in-app",
     "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
     "like Gecko) Mobile/15E148 musical_ly_32.5.0 JsSdk/2.0 NetType/WIFI Channel/App Store "
     "ByteLocale/en Region/US ByteFullLocale/en-US isDarkMode/0 WKWebView/1 "
     "BytedanceWebview/d8a21c6", "human"),
    ("Snapchat in-app",
     "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2_1 like Mac OS X) AppleWebKit/605.1.15 "
     "(KHTML, like Gecko) Mobile/15E148 Snapchat/12.70.0.37 (like Safari/8617.1.17.10.8, "
     "panda)", "human"),
    ("Gmail in-app (iOS)",
     "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
     "like Gecko) GSA/309.0.616685607 Mobile/15E148 Safari/604.1", "human"),
    ("Google app Android",
     "Mozilla/5.0 (Linux; Android 14; Pixel 6 Build/AP1A.240305.019.A1; wv) AppleWebKit/537.36 "
     "(KHTML, like Gecko) Version/4.0 Chrome/122.0.6261.119 Mobile Safari/537.36 "
     "GSA/15.9.38.29.arm64", "human"),
    ("LinkedIn in-app",
     "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Mobile/15E148 [LinkedInApp]/9.29.1341", "human"),
    ("X in-app (Twitter for iPhone)",
     "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
     "like Gecko) Mobile/15E148 Twitter for iPhone/10.26", "human"),
    ("Desktop Chrome", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, "
     "like Gecko) Chrome/123.0.0.0 Safari/537.36", "human"),
    ("Desktop Safari", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
     "(KHTML, like Gecko) Version/17.4 Safari/605.1.15", "human"),
]
TABLE = PREVIEWERS + SCANNERS + BOTS + HUMANS
