// What the desk imports: JsSIP, as one ES module (agent_ui/vendor/jssip.js).
// JsSIP is published as CommonJS; the bundle gives the page a default export it can import.
import JsSIP from "jssip";

export default JsSIP;
